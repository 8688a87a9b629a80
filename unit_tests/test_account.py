"""account: GET /v1/account, one JSON object (not a list) that is the stream's only record, primary key `name`."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import api_request, assert_records_match_schema, read, sent_requests, template


def test_given_the_account_object_when_read_then_emits_it_as_the_one_record_with_one_request(http_mocker):
    http_mocker.get(api_request("account"), HttpResponse(json.dumps(template("account"))))

    output = read("account")

    assert not output.errors
    assert [m.record.data for m in output.records] == [
        {"name": "Rocket Analytics GmbH", "currency": "EUR", "time_zone": "Europe/Berlin", "week_start_on": "monday"}]
    assert sent_requests(http_mocker) == [("account", {})]  # no per_page, no cursor: nothing to page
    assert_records_match_schema(output)


def test_given_an_answer_that_is_not_an_account_when_read_then_retries_and_fails_loudly_instead_of_emitting_it(http_mocker, retry_sleeps):
    http_mocker.get(api_request("account"), HttpResponse(json.dumps({"entries": [], "has_more": False}), 200))

    output = read("account")

    assert output.records == []
    (failure,) = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert "ChartMogul's answer from https://api.chartmogul.com/v1/account is not the expected" in failure.message
    assert "(no 'name' key), even after retries" in failure.message
    assert len(retry_sleeps) == 8  # retried like a 5xx (most often a proxy's page), then failed
