"""invoice_transactions: one record per transaction (payment or refund) of every invoice, read from
GET /v1/invoices?data_source_uuid (one cursor chain per data source, as invoices), each carrying its invoice's uuid,
customer, currency, date (as `invoice_date`: the transaction's own `date` is when it was attempted) and data source.
test_per_data_source.py reads it over several data sources and pages from the offline fake."""

import json

import pytest
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import (
    DATA_SOURCE, DATA_SOURCES_REQUEST, api_request, assert_records_match_schema, entries, mock_cursor_pages,
    mock_data_sources, numbered, page, read, sent_requests, template,
)

FIRST_PAGE = {"per_page": "200", "data_source_uuid": DATA_SOURCE}
COPIED = {"invoice_uuid", "customer_uuid", "currency", "invoice_date", "data_source_uuid"}


@pytest.fixture(autouse=True)
def one_data_source(http_mocker):
    mock_data_sources(http_mocker, DATA_SOURCE)


def test_given_invoices_when_read_then_emits_each_transaction_once_with_its_invoice_fields(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    output = read("invoice_transactions")

    assert not output.errors
    paid, _ = entries("invoices", "invoices")  # the second invoice has no transaction
    failed, successful = [m.record.data for m in output.records]
    assert (failed["uuid"], successful["uuid"]) == ("tr_4a6c8e0b-2d1f-4b57-9c3e-a0f2d4b6c819", "tr_9b1d3f5a-7c0e-42e8-8a6d-c2e4f6a8b037")
    for record in (failed, successful):
        assert {k: record[k] for k in COPIED} == {
            "invoice_uuid": "inv_2f6d8b1a-4c9e-4a37-b0d5-7e1c3a9f6b48", "customer_uuid": "cus_0a1b2c3d-1111-2222-3333-444455556666",
            "currency": "EUR", "invoice_date": "2024-02-01T00:00:00.000Z", "data_source_uuid": DATA_SOURCE}
    # The transaction keeps its own date, and every other field as ChartMogul sent it.
    assert (failed["date"], successful["date"]) == ("2024-02-01T00:05:12.000Z", "2024-02-03T10:20:00.000Z")
    for record, sent in zip([failed, successful], paid["transactions"]):
        assert {k: v for k, v in record.items() if k not in COPIED} == {k: v for k, v in sent.items() if v is not None}
    assert (failed["result"], successful["result"], successful["amount_in_cents"]) == ("failed", "successful", 408800)
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, ("invoices", FIRST_PAGE)]


def test_given_transactions_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("invoices", FIRST_PAGE), HttpResponse(json.dumps(template("invoices"))))

    assert_records_match_schema(read("invoice_transactions"))


def test_given_three_pages_of_invoices_when_read_then_each_transaction_arrives_once_and_paging_stops_at_has_more_false(http_mocker):
    invoice = entries("invoices", "invoices")[0]  # two transactions

    def numbered_invoice(n: int) -> dict:
        clone = numbered(invoice, n)
        clone["transactions"] = [numbered(t, 10 * n + k) for k, t in enumerate(clone["transactions"])]
        return clone

    pages = [[numbered_invoice(1)], [numbered_invoice(2), numbered_invoice(3)], [numbered_invoice(4)]]
    expected = mock_cursor_pages(http_mocker, "invoices", pages, key="invoices", params={"data_source_uuid": DATA_SOURCE})

    output = read("invoice_transactions")

    assert not output.errors
    assert [(m.record.data["invoice_uuid"], m.record.data["uuid"]) for m in output.records] == [
        (inv["uuid"], t["uuid"]) for p in pages for inv in p for t in inv["transactions"]]
    assert sent_requests(http_mocker) == [DATA_SOURCES_REQUEST, *expected]


def test_given_a_refund_without_amount_when_read_then_the_amount_is_null_and_the_invoice_fields_are_still_copied(http_mocker):
    paid, _ = entries("invoices", "invoices")
    refund = {"uuid": "tr_0d2f4b6a-8c1e-4a35-9f7b-1e3c5a7d9b20", "external_id": None, "type": "refund",
              "date": "2024-02-20T08:00:00.000Z", "result": "successful", "amount_in_cents": None,
              "transaction_fees_in_cents": None, "transaction_fees_currency": None}
    http_mocker.get(api_request("invoices", FIRST_PAGE), page([{**paid, "transactions": [refund]}], key="invoices"))

    (record,) = [m.record.data for m in read("invoice_transactions").records]

    assert (record["type"], record["result"], record["invoice_uuid"], record["currency"]) == ("refund", "successful", paid["uuid"], "EUR")
    assert "amount_in_cents" not in record  # null: ChartMogul then counts the invoice's full amount
