"""subscription_events: GET /v1/subscription_events?data_source_uuid, one cursor chain per data source, records
under `subscription_events`, PK `id`.

Full refresh only: the endpoint cannot filter by updated_at (see docs/chartmogul.md). ChartMogul sends some unset
numbers as "" instead of null; the stream turns those into null (and numeric strings into numbers, see
test_recorded_payloads.py), so the fields keep their types.
"""

import json

import pytest

from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.test.mock_http import HttpResponse

from testkit.connector import run_cli
from unit_tests.builders import (
    DATA_SOURCE, DATA_SOURCES_REQUEST, mock_data_sources, mock_cursor_pages, api_request, assert_records_match_schema,
    config, entries, numbered, page, read, sent_requests, template,
)

FIRST_PAGE = {"per_page": "200", "data_source_uuid": DATA_SOURCE}


@pytest.fixture(autouse=True)
def one_data_source(request):
    """Every test that mocks ChartMogul serves one data source, so the stream reads one chain."""
    if "http_mocker" in request.fixturenames:
        mock_data_sources(request.getfixturevalue("http_mocker"), DATA_SOURCE)


def test_given_one_page_when_read_then_emits_events_with_their_values(http_mocker):
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), HttpResponse(json.dumps(template("subscription_events"))))

    output = read("subscription_events")

    assert not output.errors
    start, scheduled_cancel, retraction = [m.record.data for m in output.records]
    assert start["id"] == 81200417
    assert (start["event_type"], start["subscription_external_id"], start["plan_external_id"]) == (
        "subscription_start", "sub_1042_pro", "price_pro_annual")
    assert (start["amount_in_cents"], start["tax_amount_in_cents"], start["quantity"], start["currency"]) == (358800, 68172, 12, "EUR")
    assert (start["event_date"], start["effective_date"]) == ("2024-02-01T08:15:00Z", "2024-02-01T00:00:00Z")
    assert (start["created_at"], start["updated_at"]) == ("2024-02-01T08:15:03Z", "2024-02-03T11:42:27Z")
    assert start["data_source_customer_external_id"] == "cust_1042" and start["errors"] == {}
    assert scheduled_cancel["effective_date"] == "2024-03-01T00:00:00Z"
    assert retraction["retracted_event_id"] == 81200522
    assert retraction["errors"] == {"effective_date": ["is before the subscription start"]}
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, ("subscription_events", FIRST_PAGE)]


def test_given_empty_string_amounts_when_read_then_those_fields_are_null_and_the_rest_is_kept(http_mocker):
    event = entries("subscription_events", "subscription_events")[0]
    blank = {**event, "amount_in_cents": "", "tax_amount_in_cents": "", "quantity": "", "currency": ""}
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), page([blank], key="subscription_events"))

    output = read("subscription_events")

    assert not output.errors
    [record] = [m.record.data for m in output.records]
    for field in ("amount_in_cents", "tax_amount_in_cents", "quantity", "currency"):
        assert record.get(field) is None, field
    assert record["id"] == 81200417 and record["event_type"] == "subscription_start"
    assert record["updated_at"] == "2024-02-03T11:42:27Z" and record["event_order"] == 1
    assert_records_match_schema(output)  # "" would break the integer columns; null does not


def test_given_zero_amounts_when_read_then_zeros_are_kept_and_not_mistaken_for_empty(http_mocker):
    retraction = entries("subscription_events", "subscription_events")[2]
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), page([retraction], key="subscription_events"))

    [record] = [m.record.data for m in read("subscription_events").records]

    assert (record["amount_in_cents"], record["tax_amount_in_cents"], record["quantity"]) == (0, 0, 0)
    assert record.get("currency") is None


def test_given_events_with_blank_and_null_amounts_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), HttpResponse(json.dumps(template("subscription_events"))))

    assert_records_match_schema(read("subscription_events"))


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_stops_after_has_more_false(http_mocker):
    event = entries("subscription_events", "subscription_events")[1]  # the one with "" amounts
    pages = [[numbered(event, 1, "id"), numbered(event, 2, "id")], [numbered(event, 3, "id")], [numbered(event, 4, "id")]]
    expected = mock_cursor_pages(http_mocker, "subscription_events", pages, key="subscription_events", params={"data_source_uuid": DATA_SOURCE})

    output = read("subscription_events")

    assert not output.errors
    assert [m.record.data["id"] for m in output.records] == [1, 2, 3, 4]
    assert all(m.record.data.get("amount_in_cents") is None for m in output.records)
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, *expected]


def test_given_no_events_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), page([], has_more=False, key="subscription_events"))

    output = read("subscription_events")

    assert not output.errors
    assert output.records == []


def test_given_body_without_subscription_events_key_when_read_then_fails_naming_the_missing_key(http_mocker):
    http_mocker.get(api_request("subscription_events", FIRST_PAGE), page([], has_more=False, key="entries"))

    output = read("subscription_events")

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.system_error
    assert "no 'subscription_events' key" in error.message


def test_when_discovered_then_offers_full_refresh_only_keyed_on_id():
    [stream] = [s for s in run_cli("discover", config()).catalog.catalog.streams if s.name == "subscription_events"]

    assert stream.supported_sync_modes == [SyncMode.full_refresh]
    assert stream.source_defined_primary_key == [["id"]]
    assert not stream.default_cursor_field
