"""plan_groups: GET /v1/plan_groups, cursor-paginated, records under `plan_groups`, primary key `uuid`."""

import json

from airbyte_cdk.models import FailureType
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import mock_cursor_pages, api_request, assert_records_match_schema, entries, numbered, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_plan_groups_with_their_values(http_mocker):
    http_mocker.get(api_request("plan_groups", FIRST_PAGE), HttpResponse(json.dumps(template("plan_groups"))))

    output = read("plan_groups")

    assert not output.errors
    assert [m.record.data for m in output.records] == [
        {"uuid": "plg_3a9e5c71-2d4b-4f08-9e6a-b1c7d3f5a802", "name": "Self-serve", "plans_count": 4},
        {"uuid": "plg_e6b2f084-7c1a-43d9-8b5e-0a4d9c2f7e15", "name": "Enterprise", "plans_count": 0},
    ]
    assert sent_requests(http_mocker) == [("plan_groups", FIRST_PAGE)]


def test_given_plan_groups_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("plan_groups", FIRST_PAGE), HttpResponse(json.dumps(template("plan_groups"))))

    assert_records_match_schema(read("plan_groups"))


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_stops_after_has_more_false(http_mocker):
    group = entries("plan_groups", "plan_groups")[0]
    pages = [[numbered(group, 1)], [numbered(group, 2), numbered(group, 3)], [numbered(group, 4)]]
    expected = mock_cursor_pages(http_mocker, "plan_groups", pages, key="plan_groups")

    output = read("plan_groups")

    assert not output.errors
    assert [m.record.data["uuid"] for m in output.records] == [r["uuid"] for p in pages for r in p]
    assert sent_requests(http_mocker) == expected


def test_given_no_plan_groups_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("plan_groups", FIRST_PAGE), page([], has_more=False, key="plan_groups"))

    output = read("plan_groups")

    assert not output.errors
    assert output.records == []


def test_given_body_without_plan_groups_key_when_read_then_fails_naming_the_missing_key(http_mocker):
    http_mocker.get(api_request("plan_groups", FIRST_PAGE), page([], has_more=False, key="plans"))

    output = read("plan_groups")

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.system_error
    assert "no 'plan_groups' key" in error.message
