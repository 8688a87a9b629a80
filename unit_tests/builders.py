"""Builders for the unit tests: config, ChartMogul-shaped responses, expected requests, a read of one stream. What the
integration tests and the benchmark use too (the API key, a catalog, an in-process CLI run, the wheel) is in testkit/."""

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional

import jsonschema
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.mock_http import HttpRequest, HttpResponse

from testkit.connector import API_KEY, catalog, run_cli

BASE_URL = "https://api.chartmogul.com/v1"
START_DATE = "2024-01-01T00:00:00Z"
RESPONSES = Path(__file__).parent / "resource" / "http" / "response"


def config(**overrides: Any) -> dict:
    return {"api_key": API_KEY, "start_date": START_DATE, "interval": "month", **overrides}


def basic_auth_header(key: str = API_KEY) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def api_request(path: str, params: Optional[Mapping[str, str]] = None) -> HttpRequest:
    """A GET to ChartMogul with exactly these query parameters and the Basic auth header."""
    return HttpRequest(
        url=f"{BASE_URL}/{path}",
        query_params=dict(params or {}),
        headers={"Authorization": basic_auth_header()},
    )


def template(stream: str) -> dict:
    """A realistic ChartMogul response body for a stream: unit_tests/resource/http/response/<stream>.json, or, for
    streams whose only fixture is shaped after ChartMogul's recorded responses, recorded/<stream>.json."""
    path = RESPONSES / f"{stream}.json"
    return json.loads((path if path.exists() else RESPONSES / "recorded" / f"{stream}.json").read_text())


def entries(stream: str, key: str = "entries") -> List[dict]:
    return template(stream)[key]


def numbered(record: Mapping[str, Any], n: int, key: str = "uuid") -> dict:
    """A copy of a template record with a distinct primary key."""
    clone = copy.deepcopy(dict(record))
    clone[key] = f"{clone[key][:-6]}{n:06d}" if isinstance(clone[key], str) else n
    return clone


def page(records: Iterable[Mapping[str, Any]], has_more: bool = False, cursor: str = "c_last", key: str = "entries") -> HttpResponse:
    """A cursor-paginated ChartMogul page: later pages carry only the records, `has_more` and `cursor`."""
    return HttpResponse(json.dumps({key: list(records), "has_more": has_more, "cursor": cursor}))


def error(status: int, body: Any = None, headers: Optional[Mapping[str, str]] = None) -> HttpResponse:
    text = body if isinstance(body, str) else json.dumps(body if body is not None else {"code": status, "message": "error", "param": None})
    return HttpResponse(text, status_code=status, headers=dict(headers or {}))


def read(stream: str, cfg: Optional[Mapping[str, Any]] = None, sync_mode: SyncMode = SyncMode.full_refresh,
         state: Optional[list] = None) -> EntrypointOutput:
    return run_cli("read", cfg or config(), catalog(stream, sync_mode=sync_mode), state)


@functools.lru_cache(maxsize=None)
def discovered_schemas() -> Mapping[str, dict]:
    """Each stream's schema as `discover` reports it (the same for every test: computed once)."""
    out = run_cli("discover", config())
    return {s.name: s.json_schema for s in out.catalog.catalog.streams}


def assert_records_match_schema(output: EntrypointOutput) -> None:
    """Every record validates against its discovered schema and carries no undeclared top-level field."""
    schemas = discovered_schemas()
    assert output.records, "expected records to check against the schema"
    for message in output.records:
        record, schema = message.record.data, schemas[message.record.stream]
        jsonschema.validate(record, schema)
        undeclared = set(record) - set(schema["properties"])
        assert not undeclared, f"{message.record.stream} emits fields its schema does not declare: {undeclared}"


def sent_urls(http_mocker: Any) -> List[str]:
    """Every URL the connector requested during the test, mocked or not, in order, as sent (encoded)."""
    return [request.url for request in http_mocker._mocker.request_history]  # HttpMocker keeps its requests_mock.Mocker private


def sent_requests(http_mocker: Any) -> List[tuple]:
    """Every request the connector sent during the test, mocked or not, in order: (path below /v1, query params).

    HttpMocker only counts matches per registered request; this shows what was sent and that nothing followed,
    e.g. no request after a page with `has_more: false`.
    """
    from urllib.parse import parse_qsl, urlsplit

    return [(url.path.removeprefix("/v1/"), dict(parse_qsl(url.query, keep_blank_values=True)))
            for url in map(urlsplit, sent_urls(http_mocker))]


# --- plans, for the streams by plan ---------------------------------------------------------------------------------
STRIPE, RECURLY = "ds_5d1c9a7e-3b2f-4e8a-9c61-0f7e2d4b8a13", "ds_b83e2f61-0c9d-4a57-9e14-7d2a6c0f8b39"


def plan(name: str, data_source: str = STRIPE, n: int = 1) -> dict:
    """A plan of the recorded template, named `name`, in `data_source` (ChartMogul has one plan per name and data source)."""
    template_plan = entries("plans", "plans")[0]
    return {**template_plan, "uuid": f"{template_plan['uuid'][:-6]}{n:06d}", "name": name, "data_source_uuid": data_source}


def mock_metric_of_plan(http_mocker: Any, endpoint: str, params: Mapping[str, str], name: str, body: Any) -> tuple:
    """GET /v1/<endpoint> (metrics/all, metrics/mrr) for one plan name, answering `body` (a dict or an HttpResponse);
    returns the request the connector must send."""
    params = {**params, "plans": name}
    http_mocker.get(api_request(endpoint, params), body if isinstance(body, HttpResponse) else HttpResponse(json.dumps(body)))
    return (endpoint, params)


def mock_cursor_pages(http_mocker: Any, endpoint: str, pages: List[List[dict]], key: str = "entries",
                      params: Optional[Mapping[str, str]] = None) -> List[tuple]:
    """Serve `pages` as ChartMogul does: page n+1 is asked for with the cursor page n returned; the last page has
    `has_more: false` but still a cursor. Returns the requests the connector must send, in order (see sent_requests)."""
    expected, cursor = [], None
    for n, records in enumerate(pages, 1):
        query = {"per_page": "200", **(params or {}), **({"cursor": cursor} if cursor else {})}
        cursor = f"cursor-after-page-{n}"
        http_mocker.get(api_request(endpoint, query), page(records, has_more=n < len(pages), cursor=cursor, key=key))
        expected.append((endpoint, query))
    return expected


def assert_reads_three_pages_once(http_mocker: Any, stream: str, record: Mapping[str, Any], key: str = "uuid") -> None:
    """The three-page case of a cursor-paginated stream read from GET /v1/<stream>: pages of 2, 1 and 1 copies of
    `record` (distinct `key`s) arrive in order, each exactly once, each cursor is sent once, and nothing is asked
    after the page with `has_more: false`."""
    pages = [[numbered(record, 1, key), numbered(record, 2, key)], [numbered(record, 3, key)], [numbered(record, 4, key)]]
    expected = mock_cursor_pages(http_mocker, stream, pages)

    output = read(stream)

    assert not output.errors
    assert [m.record.data[key] for m in output.records] == [r[key] for p in pages for r in p]
    assert sent_requests(http_mocker) == expected


# invoices and subscription_events read one chain per data source: first GET /v1/data_sources, then each chain with
# ?data_source_uuid=. Their single-chain tests run with this one data source (test_per_data_source.py: several).
DATA_SOURCE = "ds_a4f0b6c2-71d9-4c35-8e2a-6b9d0c3e5f27"
# GET /v1/data_sources asks for each source's import health and settings (test_data_sources.py).
DATA_SOURCES_PARAMS = {"with_processing_status": "true", "with_auto_churn_subscription_setting": "true",
                       "with_invoice_handling_setting": "true"}
DATA_SOURCES_REQUEST = ("data_sources", DATA_SOURCES_PARAMS)


def mock_data_sources(http_mocker: Any, *uuids: str) -> None:
    """GET /v1/data_sources answering with these data sources (the template's first one, renamed)."""
    source = entries("data_sources", "data_sources")[0]
    body = {"data_sources": [{**source, "uuid": uuid, "name": f"Source {n}"} for n, uuid in enumerate(uuids, 1)]}
    http_mocker.get(api_request("data_sources", DATA_SOURCES_PARAMS), HttpResponse(json.dumps(body)))
