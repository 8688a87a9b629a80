"""invoices: GET /v1/invoices?data_source_uuid, one cursor chain per data source, records under `invoices` with nested
line_items and transactions."""

import json

import pytest

from airbyte_cdk.models import FailureType
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import DATA_SOURCE, DATA_SOURCES_REQUEST, mock_data_sources, mock_cursor_pages, api_request, assert_records_match_schema, entries, numbered, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200", "data_source_uuid": DATA_SOURCE}


@pytest.fixture(autouse=True)
def one_data_source(request):
    """Every test that mocks ChartMogul serves one data source, so the stream reads one chain."""
    if "http_mocker" in request.fixturenames:
        mock_data_sources(request.getfixturevalue("http_mocker"), DATA_SOURCE)


def test_given_one_page_when_read_then_emits_invoices_with_header_values(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    output = read("invoices")

    assert not output.errors
    paid, disabled = [m.record.data for m in output.records]
    assert paid["uuid"] == "inv_2f6d8b1a-4c9e-4a37-b0d5-7e1c3a9f6b48"
    assert (paid["external_id"], paid["customer_uuid"], paid["currency"]) == (
        "INV-2024-0031", "cus_0a1b2c3d-1111-2222-3333-444455556666", "EUR")
    assert (paid["date"], paid["due_date"]) == ("2024-02-01T00:00:00.000Z", "2024-02-15T00:00:00.000Z")
    assert (paid["status"], paid["collection_method"], paid["disabled"]) == ("paid", "automatic", False)
    assert paid["errors"] == {} and paid["edit_history_summary"] == {}
    assert disabled.get("due_date") is None
    assert (disabled["disabled"], disabled["disabled_at"], disabled["user_created"]) == (True, "2024-02-06T14:00:00.000Z", True)
    assert disabled["errors"] == {"line_items": ["service period ends before it starts"]}
    assert disabled["edit_history_summary"]["values_changed"]["currency"] == {"original_value": "EUR", "edited_value": "USD"}
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, ("invoices", FIRST_PAGE)]


def test_given_invoice_with_line_items_and_transactions_when_read_then_keeps_them_nested_as_sent(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    paid, disabled = [m.record.data for m in read("invoices").records]

    subscription_line, one_time_line = paid["line_items"]
    assert subscription_line["type"] == "subscription"
    assert subscription_line["plan_uuid"] == "pl_7c3e1a90-5b4d-4f2e-a1c8-9d6b2e0f4a51"
    assert (subscription_line["amount_in_cents"], subscription_line["quantity"]) == (358800, 12)
    assert (subscription_line["discount_amount_in_cents"], subscription_line["tax_amount_in_cents"]) == (39867, 68172)
    assert subscription_line["service_period_end"] == "2025-02-01T00:00:00.000Z"
    assert one_time_line == entries("invoices", "invoices")[0]["line_items"][1]  # nested nulls are kept as sent
    assert one_time_line["description"] == "Onboarding workshop" and one_time_line["discount_code"] is None
    assert [(t["type"], t["result"], t["amount_in_cents"]) for t in paid["transactions"]] == [
        ("payment", "failed", 408800), ("payment", "successful", 408800)]
    assert paid["transactions"][1]["transaction_fees_in_cents"] == 1226
    assert disabled["transactions"] == []
    assert disabled["line_items"][0]["prorated"] is True


def test_given_invoices_when_read_then_every_record_and_nested_item_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    assert_records_match_schema(read("invoices"))


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_stops_after_has_more_false(http_mocker):
    invoice = entries("invoices", "invoices")[0]
    pages = [[numbered(invoice, 1)], [numbered(invoice, 2)], [numbered(invoice, 3), numbered(invoice, 4)]]
    expected = mock_cursor_pages(http_mocker, "invoices", pages, key="invoices", params={"data_source_uuid": DATA_SOURCE})

    output = read("invoices")

    assert not output.errors
    assert [m.record.data["uuid"] for m in output.records] == [r["uuid"] for p in pages for r in p]
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, *expected]


def test_given_no_invoices_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), page([], has_more=False, key="invoices"))

    output = read("invoices")

    assert not output.errors
    assert output.records == []


def test_given_body_without_invoices_key_when_read_then_fails_naming_the_missing_key(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), page([], has_more=False, key="entries"))

    output = read("invoices")

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.system_error
    assert "no 'invoices' key" in error.message
