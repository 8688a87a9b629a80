"""invoice_line_items: one record per line item of every invoice, read from GET /v1/invoices?data_source_uuid (one
cursor chain per data source, as invoices), each carrying its invoice's uuid, customer, currency, date and data
source. test_per_data_source.py reads it over several data sources and pages from the offline fake."""

import json

import pytest
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import (
    DATA_SOURCE, DATA_SOURCES_REQUEST, api_request, assert_records_match_schema, entries, mock_cursor_pages,
    mock_data_sources, numbered, page, read, sent_requests, template,
)

FIRST_PAGE = {"per_page": "200", "data_source_uuid": DATA_SOURCE}
COPIED = {"invoice_uuid", "customer_uuid", "currency", "date", "data_source_uuid"}


@pytest.fixture(autouse=True)
def one_data_source(http_mocker):
    mock_data_sources(http_mocker, DATA_SOURCE)


def test_given_invoices_when_read_then_emits_each_line_item_once_with_its_invoice_fields(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    output = read("invoice_line_items")

    assert not output.errors
    paid, disabled = entries("invoices", "invoices")
    subscription_line, one_time_line, disabled_line = [m.record.data for m in output.records]
    assert [subscription_line["uuid"], one_time_line["uuid"], disabled_line["uuid"]] == [
        "li_8e0a2c4f-6b1d-4e93-a7c5-2d9f0b3e6a71", "li_c1e3a5b7-9d2f-4806-b4a1-7f5c0e2d8b96", "li_f2a4c6e8-0b3d-4f71-9e5a-1c7b9d3f5e02"]
    assert {k: subscription_line[k] for k in COPIED} == {
        "invoice_uuid": "inv_2f6d8b1a-4c9e-4a37-b0d5-7e1c3a9f6b48", "customer_uuid": "cus_0a1b2c3d-1111-2222-3333-444455556666",
        "currency": "EUR", "date": "2024-02-01T00:00:00.000Z", "data_source_uuid": DATA_SOURCE}
    assert {k: disabled_line[k] for k in COPIED} == {
        "invoice_uuid": "inv_b8e0c2a4-6f1d-4c39-a5b7-d9f1e3c5a760", "customer_uuid": "cus_7e6d5c4b-aaaa-4444-8888-000011112222",
        "currency": "USD", "date": "2024-02-05T00:00:00.000Z", "data_source_uuid": DATA_SOURCE}
    # Every field of the line item as ChartMogul sent it (the protocol leaves top-level nulls out).
    for record, sent in zip([subscription_line, one_time_line], paid["line_items"]):
        assert {k: v for k, v in record.items() if k not in COPIED} == {k: v for k, v in sent.items() if v is not None}
    assert (subscription_line["amount_in_cents"], subscription_line["discount_amount_in_cents"]) == (358800, 39867)
    assert one_time_line["description"] == "Onboarding workshop" and "plan_uuid" not in one_time_line
    assert (disabled_line["prorated"], disabled_line["user_created"]) == (True, True)
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, ("invoices", FIRST_PAGE)]


def test_given_line_items_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    assert_records_match_schema(read("invoice_line_items"))


def test_given_three_pages_of_invoices_when_read_then_each_line_item_arrives_once_and_paging_stops_at_has_more_false(http_mocker):
    invoice = entries("invoices", "invoices")[0]  # two line items

    def numbered_invoice(n: int) -> dict:
        clone = numbered(invoice, n)
        clone["line_items"] = [numbered(item, 10 * n + k) for k, item in enumerate(clone["line_items"])]
        return clone

    pages = [[numbered_invoice(1), numbered_invoice(2)], [numbered_invoice(3)], [numbered_invoice(4)]]
    expected = mock_cursor_pages(http_mocker, "invoices", pages, key="invoices", params={"data_source_uuid": DATA_SOURCE})

    output = read("invoice_line_items")

    assert not output.errors
    assert [(m.record.data["invoice_uuid"], m.record.data["uuid"]) for m in output.records] == [
        (inv["uuid"], item["uuid"]) for p in pages for inv in p for item in inv["line_items"]]
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, *expected]


def test_given_invoices_without_line_items_or_without_a_data_source_when_read_then_emits_only_the_items_there_are(http_mocker):
    paid, disabled = entries("invoices", "invoices")
    no_items = {**disabled, "line_items": []}
    no_source = {k: v for k, v in paid.items() if k != "data_source_uuid"}
    http_mocker.get(api_request("invoices", FIRST_PAGE), page([no_items, no_source], key="invoices"))

    records = [m.record.data for m in read("invoice_line_items").records]

    assert [r["invoice_uuid"] for r in records] == [paid["uuid"], paid["uuid"]]
    assert all("data_source_uuid" not in r for r in records)  # copied as null where the invoice has none


def test_given_no_invoices_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), page([], key="invoices"))

    output = read("invoice_line_items")

    assert not output.errors
    assert output.records == []
