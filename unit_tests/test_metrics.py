"""metrics: GET /v1/metrics/all for start_date..today (UTC) at the configured interval; unpaginated, PK `date`."""

import json

from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from unit_tests.builders import api_request, assert_records_match_schema, config, read, sent_requests, template

TODAY = "2024-03-15"
RANGE = {"start-date": "2024-01-01", "end-date": TODAY, "interval": "month"}


@freeze_time(f"{TODAY} 18:30:00")
def test_given_start_date_and_interval_when_read_then_asks_for_start_date_to_today_once(http_mocker):
    http_mocker.get(api_request("metrics/all", RANGE), HttpResponse(json.dumps(template("metrics"))))

    output = read("metrics")

    assert not output.errors
    assert sent_requests(http_mocker) == [("metrics/all", RANGE)]


@freeze_time(f"{TODAY} 18:30:00")
def test_given_entries_when_read_then_emits_one_record_per_date_with_every_metric_and_no_summary(http_mocker):
    http_mocker.get(api_request("metrics/all", RANGE), HttpResponse(json.dumps(template("metrics"))))

    records = [m.record.data for m in read("metrics").records]

    assert [r["date"] for r in records] == ["2024-01-31", "2024-02-29", "2024-03-15"]
    january = records[0]
    assert (january["mrr"], january["arr"], january["arpa"], january["asp"]) == (1234500, 14814000, 2996, 3100)
    assert (january["ltv"], january["customers"]) == (142667.5, 412)
    assert (january["customer-churn-rate"], january["mrr-churn-rate"]) == (2.1, -0.4)
    assert records[1]["arpa"] == 2976.19 and records[1]["mrr-churn-rate-percentage-change"] == -175.0
    assert records[1]["customers-percentage-change"] == 1.94
    assert records[2]["asp"] == 0 and records[2]["mrr-percentage-change"] == -0.72
    assert not any("current-mrr" in r or "summary" in r for r in records)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_metrics_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("metrics/all", RANGE), HttpResponse(json.dumps(template("metrics"))))

    assert_records_match_schema(read("metrics"))


@freeze_time("2025-01-01 00:00:05")
def test_given_weekly_interval_and_time_of_day_in_start_date_when_read_then_sends_plain_dates_and_week(http_mocker):
    params = {"start-date": "2023-06-30", "end-date": "2025-01-01", "interval": "week"}
    http_mocker.get(api_request("metrics/all", params), HttpResponse(json.dumps({"entries": [], "summary": {}})))

    output = read("metrics", config(start_date="2023-06-30T22:15:00Z", interval="week"))

    assert not output.errors
    assert sent_requests(http_mocker) == [("metrics/all", params)]


@freeze_time(f"{TODAY} 18:30:00")
def test_given_no_entries_and_no_summary_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("metrics/all", RANGE), HttpResponse(json.dumps({"entries": []})))

    output = read("metrics")

    assert not output.errors
    assert output.records == []
