"""plans: GET /v1/plans, cursor-paginated, records under `plans`, primary key `uuid`."""

import json

from airbyte_cdk.models import FailureType
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import mock_cursor_pages, api_request, assert_records_match_schema, entries, numbered, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_plans_with_their_values(http_mocker):
    http_mocker.get(api_request("plans", FIRST_PAGE), HttpResponse(json.dumps(template("plans"))))

    output = read("plans")

    assert not output.errors
    annual, quarterly = [m.record.data for m in output.records]
    assert annual == {
        "uuid": "pl_7c3e1a90-5b4d-4f2e-a1c8-9d6b2e0f4a51",
        "data_source_uuid": "ds_5d1c9a7e-3b2f-4e8a-9c61-0f7e2d4b8a13",
        "name": "Pro (annual)",
        "interval_count": 1,
        "interval_unit": "year",
        "external_id": "price_pro_annual",
    }
    assert (quarterly["name"], quarterly["interval_count"], quarterly["interval_unit"]) == ("Starter (quarterly)", 3, "month")
    assert quarterly.get("external_id") is None
    assert sent_requests(http_mocker) == [("plans", FIRST_PAGE)]


def test_given_plans_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("plans", FIRST_PAGE), HttpResponse(json.dumps(template("plans"))))

    assert_records_match_schema(read("plans"))


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_stops_after_has_more_false(http_mocker):
    plan = entries("plans", "plans")[0]
    pages = [[numbered(plan, 1), numbered(plan, 2)], [numbered(plan, 3)], [numbered(plan, 4)]]
    expected = mock_cursor_pages(http_mocker, "plans", pages, key="plans")

    output = read("plans")

    assert not output.errors
    assert [m.record.data["uuid"] for m in output.records] == [r["uuid"] for p in pages for r in p]
    assert sent_requests(http_mocker) == expected


def test_given_no_plans_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("plans", FIRST_PAGE), page([], has_more=False, key="plans"))

    output = read("plans")

    assert not output.errors
    assert output.records == []
    assert sent_requests(http_mocker) == [("plans", FIRST_PAGE)]


def test_given_body_without_plans_key_when_read_then_fails_naming_the_missing_key(http_mocker):
    http_mocker.get(api_request("plans", FIRST_PAGE), page([], has_more=False, key="entries"))

    output = read("plans")

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.system_error
    assert "no 'plans' key" in error.message
