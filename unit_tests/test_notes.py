"""notes: GET /v1/notes (not the deprecated /v1/customer_notes), cursor-paginated, records under `entries`, primary
key `uuid`, full refresh."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import api_request, assert_reads_three_pages_once, assert_records_match_schema, entries, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_call_logs_and_notes_with_their_text_unchanged(http_mocker):
    http_mocker.get(api_request("notes", FIRST_PAGE), HttpResponse(json.dumps(template("notes"))))

    output = read("notes")

    assert not output.errors
    call, note = [m.record.data for m in output.records]
    assert call["uuid"] == "note_5d2a8f14-6b03-11ef-9c71-2e8b4d0a6f93"
    assert (call["type"], call["call_duration"]) == ("call", 1260)
    assert call["text"] == "Renewal call with the finance team.\nThey want annual billing and SSO.\n\nFollow up next week."
    assert call["author"] == "Jonas Berg (jonas.b@chartmogul-customer.example)"
    assert (call["associated_object"], call["customer_uuid"]) == ("customer", "cus_0a1b2c3d-1111-2222-3333-444455556666")
    # A note on a contact has no customer.
    assert note.get("customer_uuid") is None and note["associated_object_uuid"] == "con_6d8f0a2c-4e1b-4a93-b7c5-e9a1c3e5f708"
    assert (note["type"], note["call_duration"]) == ("note", 0)
    assert note["text"] == '<div class="cm-paragraph">Prefers email over calls.</div>'
    assert sent_requests(http_mocker) == [("notes", FIRST_PAGE)]
    assert_records_match_schema(output)


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_reads_every_note_once(http_mocker):
    assert_reads_three_pages_once(http_mocker, "notes", entries("notes")[0])


def test_given_no_notes_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("notes", FIRST_PAGE), page([], has_more=False))

    output = read("notes")

    assert not output.errors and output.records == []
