"""The connector's last log line of a read says how many requests it sent to ChartMogul, by endpoint (ids in a path
as `*`), retries included (source.RequestsSent): what `source-chartmogul-duckdb` shows in its summary."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from source_chartmogul.source import REQUESTS_SENT
from unit_tests.builders import api_request, catalog, config, entries, error, mock_cursor_pages, numbered, run_cli, template

FIRST_PAGE = {"per_page": "200"}


def _request_lines(output) -> list:
    return [m.log.message for m in output.logs if m.log.message.startswith("Requests sent to ChartMogul: ")]


def test_a_read_ends_with_the_requests_it_sent_by_endpoint_retries_included(http_mocker):
    group = entries("plan_groups", "plan_groups")[0]
    mock_cursor_pages(http_mocker, "plan_groups", [[numbered(group, 1)], [numbered(group, 2)]], key="plan_groups")
    first, second = entries("customers")[:2]
    http_mocker.get(api_request("customers", FIRST_PAGE), HttpResponse(json.dumps(template("customers"))))
    empty = HttpResponse(json.dumps({"entries": [], "has_more": False, "cursor": None}))
    http_mocker.get(api_request(f"customers/{first['uuid']}/subscriptions", FIRST_PAGE), [error(500), empty])
    http_mocker.get(api_request(f"customers/{second['uuid']}/subscriptions", FIRST_PAGE), empty)

    output = run_cli("read", config(), catalog("plan_groups", "customer_subscriptions"))

    assert not output.errors
    assert _request_lines(output) == ["Requests sent to ChartMogul: 6 (customers/*/subscriptions 3, plan_groups 2, customers 1)"]
    assert not REQUESTS_SENT.active  # counted while the command ran, not after


def test_a_read_that_fails_says_nothing_of_its_requests(http_mocker):
    http_mocker.get(api_request("plan_groups", FIRST_PAGE), error(401, {"code": 401, "message": "No valid API key provided"}))

    output = run_cli("read", config(), catalog("plan_groups"))

    assert output.errors and _request_lines(output) == []
