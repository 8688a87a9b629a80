"""What the conformance tests share: the acceptance assets, the manifest's streams, and the offline ChartMogul.

Everything is derived from the manifest and from `expected_records.jsonl`, so a new stream needs expected records
and nothing else here: its endpoint, records key and kind of listing are read from the resolved manifest, and the
fake serves exactly the expected records (with the top-level nulls the Airbyte protocol drops put back).
"""

import contextlib
import functools
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import yaml
from airbyte_cdk.models import AirbyteStream, ConfiguredAirbyteCatalog, ConfiguredAirbyteCatalogSerializer
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString

from source_chartmogul.simulation import Dataset, Endpoint, SimulatedChartMogul
from testkit.connector import run_cli
from testkit.manifest import resolved_manifest, sample_config
from testkit.redirect import redirect_chartmogul

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "integration_tests"
ACCEPTANCE_TEST_CONFIG = ROOT / "acceptance-test-config.yml"
CONFIGURED_CATALOG = HERE / "configured_catalog.json"
EXPECTED_RECORDS = HERE / "expected_records.jsonl"
ABNORMAL_STATE = HERE / "abnormal_state.json"
API_BASE = "https://api.chartmogul.com/v1/"

# Keys of acceptance-test-config.yml that airbyte-ci's acceptance tests read but the CDK's standard tests reject
# (airbyte_cdk.test.models.scenario.REMOVED_ENTRY_KEYS), each with the test of ours that enforces it instead.
# The standard suite is handed the config without them (test_standard_suite.py); nothing else is removed.
ENFORCED_HERE = {
    "expect_records": "test_acceptance_assets.py::test_read_returns_exactly_the_expected_records",
    "fail_on_extra_columns": "test_acceptance_assets.py::test_read_returns_exactly_the_expected_records",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def acceptance_config() -> Dict[str, Any]:
    return yaml.safe_load(ACCEPTANCE_TEST_CONFIG.read_text())


def acceptance_tests(section: str) -> List[Dict[str, Any]]:
    return list((acceptance_config()["acceptance_tests"].get(section) or {}).get("tests") or [])


def expected_records() -> List[Dict[str, Any]]:
    """The lines of expected_records.jsonl: {"stream", "data", "emitted_at"}, as airbyte-ci's acceptance tests read them."""
    return [json.loads(line) for line in EXPECTED_RECORDS.read_text().splitlines() if line.strip()]


def expected_data(stream: str) -> List[Dict[str, Any]]:
    return [row["data"] for row in expected_records() if row["stream"] == stream]


# --- The manifest's streams -------------------------------------------------------------------------------------
# resolved_manifest() and stream_names() are testkit/manifest.py's: the unit tests read them too.
def render(template: str, parameters: Mapping[str, Any], **context: Any) -> str:
    """A manifest string (e.g. a url or field path) rendered with a stream's $parameters and the sample config."""
    return str(InterpolatedString.create(template, parameters=dict(parameters)).eval(sample_config(), **context))


def endpoint_of(stream: Mapping[str, Any]) -> Endpoint:
    """Where and how a manifest stream reads ChartMogul: path below /v1, kind of listing, records key, and for a
    substream read per parent in the path its parent (the path then keeps a `{partition_field}` placeholder, one
    route per parent record)."""
    retriever = stream["retriever"]
    requester = retriever["requester"]
    requester = requester.get("requester", requester)  # the HttpRequester a SharedPagesRequester holds
    parameters = stream.get("$parameters", {})
    router = retriever.get("partition_router") or {}
    query = requester.get("request_parameters") or {}
    if router.get("type") == "GroupingPartitionRouter":  # the metrics by plan: one request per plan name, by filter
        (parent,) = router["underlying_partition_router"]["parent_stream_configs"]
        (param,) = [name for name, value in query.items() if f"stream_partition.{parent['partition_field']}" in str(value)]
        url = render(requester["url"], parameters)
        records_key = render(retriever["record_selector"]["extractor"]["field_path"][0], parameters)
        return Endpoint(url[len(API_BASE):].split("?")[0], "metrics", records_key, filter_param=param,
                        filter_field=parent["partition_field"])
    parents = router.get("parent_stream_configs") or []
    assert len(parents) <= 1, f"stream {stream['name']} has several parent streams"
    substream, placeholders = {}, {}
    # A parent whose value goes into the path makes one route per parent record; one whose value is a query
    # parameter (data_source_uuid for invoices, subscription events) is a filter the fake applies to one route.
    if parents and not parents[0].get("request_option"):
        (parent,) = parents
        field = parent["partition_field"]
        substream = {"parent": parent["stream"]["name"], "parent_key": parent["parent_key"], "partition_field": field}
        placeholders = {"stream_slice": {field: "{" + field + "}"}}  # the url's stream_partition (an alias of it)
    url = render(requester["url"], parameters, **placeholders)
    assert url.startswith(API_BASE), f"stream {stream['name']} reads {url}, outside {API_BASE}"
    field_path = retriever["record_selector"]["extractor"]["field_path"]
    records_key = render(field_path[0], parameters) if field_path else ""
    paginated = retriever.get("paginator", {}).get("type", "NoPagination") != "NoPagination"
    if not field_path:
        kind = "object"
    elif not paginated:
        kind = "metrics" if "interval" in query else "plain"
    else:
        kind = "dated" if stream.get("incremental_sync") or "start-date" in query else "list"
    return Endpoint(url[len(API_BASE):].split("?")[0], kind, records_key, **substream)


def expanded_from(stream: Mapping[str, Any]) -> Optional[str]:
    """For a stream whose records are expanded from a list nested in another stream's records (invoice_line_items,
    invoice_transactions from invoices' line_items and transactions), the name of that stream; else None."""
    extractor = stream["retriever"]["record_selector"]["extractor"]
    if not extractor.get("record_expander"):
        return None
    (owner,) = [other["name"] for other in resolved_manifest()["streams"]
                if not other["retriever"]["record_selector"]["extractor"].get("record_expander")
                and endpoint_of(other).path == endpoint_of(stream).path]
    return owner


def endpoints() -> Dict[str, Endpoint]:
    """Stream → its endpoint, for the streams whose records the fake serves as they are: the streams expanded from
    another stream's records read that stream's endpoint (and the fake serves them inside its records)."""
    return {stream["name"]: endpoint_of(stream) for stream in resolved_manifest()["streams"] if not expanded_from(stream)}


@functools.lru_cache(maxsize=None)
def discovered_streams() -> Dict[str, AirbyteStream]:
    """`discover` through the console script's code path (it needs no API call)."""
    output = run_cli("discover", sample_config())
    assert not output.errors, output.errors
    return {stream.name: stream for stream in output.catalog.catalog.streams}


def incremental_streams() -> List[str]:
    return [name for name, stream in discovered_streams().items()
            if "incremental" in [mode.value for mode in stream.supported_sync_modes]]


def primary_key(stream: str) -> List[str]:
    pk = discovered_streams()[stream].source_defined_primary_key
    assert pk and all(len(path) == 1 for path in pk), f"{stream} needs a top-level primary key, has {pk}"
    return [path[0] for path in pk]


def by_primary_key(stream: str, records: List[Mapping[str, Any]]) -> Dict[tuple, Mapping[str, Any]]:
    """Records keyed by primary key; fails on a duplicate key, so comparing the dicts compares the multisets."""
    keys = primary_key(stream)
    keyed: Dict[tuple, Mapping[str, Any]] = {}
    for record in records:
        key = tuple(record.get(k) for k in keys)
        assert key not in keyed, f"{stream}: two records with primary key {key}"
        keyed[key] = record
    return keyed


def configured_catalog() -> ConfiguredAirbyteCatalog:
    """configured_catalog.json with each stream replaced by its discovered definition, as the acceptance tests
    do (the file only chooses streams, sync modes and cursors)."""
    catalog = ConfiguredAirbyteCatalogSerializer.load(load_json(CONFIGURED_CATALOG))
    discovered = discovered_streams()
    for configured in catalog.streams:
        configured.stream = discovered[configured.stream.name]
    return catalog


# --- The offline ChartMogul -------------------------------------------------------------------------------------
def fake_dataset() -> Dataset:
    """The account of expected_records.jsonl, served from each stream's endpoint."""
    nulls = {name: list(stream.json_schema.get("properties", {})) for name, stream in discovered_streams().items()}
    served = endpoints()
    return Dataset.from_records([row for row in expected_records() if row["stream"] in served], served, null_fields=nulls)


@contextlib.contextmanager
def offline_chartmogul(**options: Any) -> Iterator[SimulatedChartMogul]:
    """The fake serving expected_records.jsonl for the sample config's key, with this process's requests to
    api.chartmogul.com sent to it. `options` go to SimulatedChartMogul (latency, failures, ...)."""
    with SimulatedChartMogul(fake_dataset(), api_key=sample_config()["api_key"], **options) as fake:
        with redirect_chartmogul(fake.url):
            yield fake


def records_of(output: Any, stream: Optional[str] = None) -> List[Dict[str, Any]]:
    return [m.record.data for m in output.records if stream is None or m.record.stream == stream]


# --- Regenerating configured_catalog.json -----------------------------------------------------------------------
def catalog_from_discover() -> Dict[str, Any]:
    """Every discovered stream, incremental (on its default cursor, deduplicated on its primary key) where it can
    be, full refresh (overwrite) otherwise. The schemas stay empty: the acceptance tests take them from discover."""
    streams = []
    for name, stream in discovered_streams().items():
        incremental = name in incremental_streams()
        streams.append({
            "stream": {
                "name": name,
                "json_schema": {},
                "supported_sync_modes": [mode.value for mode in stream.supported_sync_modes],
                **({"source_defined_cursor": True, "default_cursor_field": stream.default_cursor_field} if incremental else {}),
                "source_defined_primary_key": stream.source_defined_primary_key,
            },
            "sync_mode": "incremental" if incremental else "full_refresh",
            **({"cursor_field": stream.default_cursor_field} if incremental else {}),
            "destination_sync_mode": "append_dedup" if incremental else "overwrite",
            "primary_key": stream.source_defined_primary_key,
        })
    return {"streams": streams}


if __name__ == "__main__":  # python -m integration_tests.conformance: rewrite configured_catalog.json from discover
    CONFIGURED_CATALOG.write_text(json.dumps(catalog_from_discover(), indent=2) + "\n")
    print(f"wrote {CONFIGURED_CATALOG.relative_to(ROOT)} ({len(discovered_streams())} streams)")
