"""contacts: GET /v1/contacts, cursor-paginated, records under `entries`, primary key `uuid`."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import mock_cursor_pages, api_request, assert_records_match_schema, entries, numbered, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_contacts_with_custom_attributes(http_mocker):
    http_mocker.get(api_request("contacts", FIRST_PAGE), HttpResponse(json.dumps(template("contacts"))))

    output = read("contacts")

    assert not output.errors
    mara, tomasz = [m.record.data for m in output.records]
    assert mara["uuid"] == "con_6d8f0a2c-4e1b-4a93-b7c5-e9a1c3e5f708"
    assert mara["customer_uuid"] == "cus_0a1b2c3d-1111-2222-3333-444455556666"
    assert (mara["first_name"], mara["last_name"], mara["position"]) == ("Mara", "Lindqvist", 1)
    assert mara["notes"] == "Prefers invoices by email.\nRenewal owner."
    assert mara["custom"] == {"Preferred language": "de", "Seats managed": 12, "Newsletter": True, "Birthday": "1988-06-02"}
    assert mara.get("twitter") is None and mara.get("external_id") is None
    assert tomasz["external_id"] == "hs_contact_551"
    assert tomasz["title"] == "" and tomasz["custom"] == {}
    assert tomasz.get("phone") is None
    assert sent_requests(http_mocker) == [("contacts", FIRST_PAGE)]


def test_given_contacts_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("contacts", FIRST_PAGE), HttpResponse(json.dumps(template("contacts"))))

    assert_records_match_schema(read("contacts"))


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_stops_after_has_more_false(http_mocker):
    contact = entries("contacts")[0]
    pages = [[numbered(contact, 1), numbered(contact, 2)], [numbered(contact, 3)], [numbered(contact, 4)]]
    expected = mock_cursor_pages(http_mocker, "contacts", pages)

    output = read("contacts")

    assert not output.errors
    assert [m.record.data["uuid"] for m in output.records] == [r["uuid"] for p in pages for r in p]
    assert sent_requests(http_mocker) == expected


def test_given_no_contacts_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("contacts", FIRST_PAGE), page([], has_more=False))

    output = read("contacts")

    assert not output.errors
    assert output.records == []
