"""data_sources: GET /v1/data_sources, one unpaginated response, records under `data_sources`, primary key `uuid`.

The request asks for each source's import health and settings (with_processing_status etc.); their shape is tested
with the recorded payloads (test_recorded_payloads.py)."""

import json

from airbyte_cdk.models import FailureType
from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import DATA_SOURCES_PARAMS as WITH_SETTINGS, api_request, assert_records_match_schema, read, sent_requests, template


def test_given_data_sources_when_read_then_sends_one_request_asking_for_import_health_without_paging_params(http_mocker):
    http_mocker.get(api_request("data_sources", WITH_SETTINGS), HttpResponse(json.dumps(template("data_sources"))))

    output = read("data_sources")

    assert not output.errors
    assert [m.record.data for m in output.records] == [
        {
            "uuid": "ds_5d1c9a7e-3b2f-4e8a-9c61-0f7e2d4b8a13",
            "name": "Stripe (EU entity)",
            "system": "Stripe",
            "created_at": "2021-02-14T09:30:12.481Z",
            "status": "idle",
        },
        {
            "uuid": "ds_a4f0b6c2-71d9-4c35-8e2a-6b9d0c3e5f27",
            "name": "Invoicing via Import API",
            "system": "Custom",
            "created_at": "2023-08-01T16:05:44.002Z",
            "status": "never_imported",
        },
    ]
    assert sent_requests(http_mocker) == [("data_sources", WITH_SETTINGS)]


def test_given_data_sources_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("data_sources", WITH_SETTINGS), HttpResponse(json.dumps(template("data_sources"))))

    assert_records_match_schema(read("data_sources"))


def test_given_body_with_has_more_and_cursor_when_read_then_still_sends_a_single_request(http_mocker):
    body = {**template("data_sources"), "has_more": True, "cursor": "never_followed"}
    http_mocker.get(api_request("data_sources", WITH_SETTINGS), HttpResponse(json.dumps(body)))

    output = read("data_sources")

    assert not output.errors
    assert len(output.records) == 2
    assert sent_requests(http_mocker) == [("data_sources", WITH_SETTINGS)]


def test_given_no_data_sources_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("data_sources", WITH_SETTINGS), HttpResponse(json.dumps({"data_sources": []})))

    output = read("data_sources")

    assert not output.errors
    assert output.records == []


def test_given_body_without_data_sources_key_when_read_then_fails_naming_the_missing_key(http_mocker):
    http_mocker.get(api_request("data_sources", WITH_SETTINGS), HttpResponse(json.dumps({"entries": []})))

    output = read("data_sources")

    assert output.records == []
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.system_error
    assert "no 'data_sources' key" in error.message
