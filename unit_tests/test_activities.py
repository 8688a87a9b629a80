"""activities: GET /v1/activities, cursor-paginated, primary key uuid, read in full refresh.

Full refresh reads the same start-date/end-date windows as incremental syncs (test_activities_incremental.py covers
the windows); time is frozen a few days after start_date so that these tests see a single window.
"""

import json

from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from unit_tests.builders import (
    START_DATE, api_request, assert_records_match_schema, config, entries, mock_cursor_pages, numbered, page, read, sent_requests,
    template,
)

NOW = "2024-01-06T09:30:00Z"
WINDOW = {"start-date": START_DATE, "end-date": NOW}  # one window: start_date to now


@freeze_time(NOW)
def test_given_one_page_when_read_then_emits_signed_movements_in_cents(http_mocker):
    http_mocker.get(api_request("activities", {"per_page": "200", **WINDOW}),
                    HttpResponse(json.dumps(template("activities"))))

    output = read("activities")

    assert not output.errors
    expansion, churn = [m.record.data for m in output.records]
    assert expansion["uuid"] == "3f2c1b0a-9d8e-4f7a-b6c5-d4e3f2a1b0c9"
    assert expansion["date"] == "2024-05-01T00:00:00+00:00" and expansion["type"] == "expansion"
    assert (expansion["activity-mrr"], expansion["activity-mrr-movement"], expansion["activity-arr"]) == (9900, 5000, 118800)
    assert churn["type"] == "churn" and churn["activity-mrr-movement"] == -9900 and churn["activity-mrr"] == 0
    assert churn["customer-uuid"] == "cus_0a1b2c3d-1111-2222-3333-444455556666"
    assert churn["billing-connector-uuid"] == "ds_9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff"
    assert_records_match_schema(output)


@freeze_time(NOW)
def test_given_three_pages_when_read_then_sends_cursor_and_start_date_on_every_page(http_mocker):
    first = entries("activities")[0]
    pages = [[numbered(first, 1)], [numbered(first, 2)], [numbered(first, 3)]]
    expected = mock_cursor_pages(http_mocker, "activities", pages, params=WINDOW)

    output = read("activities")

    assert [m.record.data["uuid"][-6:] for m in output.records] == ["000001", "000002", "000003"]
    assert not output.errors
    assert sent_requests(http_mocker) == expected


@freeze_time(NOW)
def test_given_start_date_in_config_when_read_then_it_is_sent_as_hyphenated_start_date(http_mocker):
    http_mocker.get(api_request("activities", {"per_page": "200", "start-date": "2024-01-03T12:00:00Z", "end-date": NOW}), page([]))

    output = read("activities", config(start_date="2024-01-03T12:00:00Z"))

    assert output.records == [] and not output.errors
