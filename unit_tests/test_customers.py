"""customers: GET /v1/customers, cursor-paginated (per_page=200, cursor), full refresh, primary key uuid."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import (
    api_request, assert_records_match_schema, entries, mock_cursor_pages, numbered, page, read, sent_requests, template,
)


def test_given_one_page_when_read_then_emits_customers_with_their_hyphenated_fields(http_mocker):
    http_mocker.get(api_request("customers", {"per_page": "200"}), HttpResponse(json.dumps(template("customers"))))

    output = read("customers")

    assert not output.errors
    acme, lead = [m.record.data for m in output.records]
    assert acme["uuid"] == "cus_0a1b2c3d-1111-2222-3333-444455556666" and acme["id"] == 5550001
    assert acme["customer-since"] == "2021-03-04T10:00:00+00:00"
    assert acme["mrr"] == 12900 and acme["arr"] == 154800
    assert acme["attributes"]["custom"] == {"Seats": 12, "Channel": "partner", "Renewal": "2025-03-04 00:00:00", "Trial": True}
    assert acme["address"] == {"address_zip": "10115", "city": "Berlin", "state": None, "country": "Germany"}
    assert acme["billing-system-type"] == "Stripe" and acme["currency-sign"] == "€"
    assert lead["status"] == "New Lead"
    assert lead.get("customer-since") is None  # null for leads; the protocol omits top-level nulls
    assert_records_match_schema(output)


def test_given_three_pages_when_read_then_follows_each_cursor_once_and_stops_on_has_more_false(http_mocker):
    acme = entries("customers")[0]
    pages = [[numbered(acme, 1), numbered(acme, 2)], [numbered(acme, 3), numbered(acme, 4)], [numbered(acme, 5)]]
    expected = mock_cursor_pages(http_mocker, "customers", pages)

    output = read("customers")

    assert [m.record.data["uuid"][-6:] for m in output.records] == ["000001", "000002", "000003", "000004", "000005"]
    assert not output.errors
    # The last page still carries a cursor: only has_more=false may stop the paging.
    assert sent_requests(http_mocker) == expected


def test_given_no_customers_when_read_then_completes_with_no_records_and_no_error(http_mocker):
    http_mocker.get(api_request("customers", {"per_page": "200"}), page([], has_more=False, cursor=""))

    output = read("customers")

    assert output.records == [] and not output.errors
    assert output.most_recent_state.stream_descriptor.name == "customers"
