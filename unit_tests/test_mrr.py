"""mrr: GET /v1/metrics/mrr (MRR movements) for start_date..today (UTC) at the configured interval; PK `date`."""

import json

from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from unit_tests.builders import api_request, assert_records_match_schema, config, read, sent_requests, template

TODAY = "2024-03-15"
RANGE = {"start-date": "2024-01-01", "end-date": TODAY, "interval": "month"}


@freeze_time(f"{TODAY} 23:59:59")
def test_given_start_date_and_interval_when_read_then_asks_for_start_date_to_today_once(http_mocker):
    http_mocker.get(api_request("metrics/mrr", RANGE), HttpResponse(json.dumps(template("mrr"))))

    output = read("mrr")

    assert not output.errors
    assert sent_requests(http_mocker) == [("metrics/mrr", RANGE)]


@freeze_time(f"{TODAY} 23:59:59")
def test_given_entries_when_read_then_emits_the_movement_breakdown_per_date_in_cents(http_mocker):
    http_mocker.get(api_request("metrics/mrr", RANGE), HttpResponse(json.dumps(template("mrr"))))

    records = [m.record.data for m in read("mrr").records]

    assert records == [
        {"date": "2024-01-31", "mrr": 1234500, "mrr-new-business": 45000, "mrr-expansion": 12000,
         "mrr-contraction": -3500, "mrr-churn": -9900, "mrr-reactivation": 0, "percentage-change": 0.0},
        {"date": "2024-02-29", "mrr": 1250000, "mrr-new-business": 21000, "mrr-expansion": 4900,
         "mrr-contraction": -2400, "mrr-churn": -8000, "mrr-reactivation": 0, "percentage-change": 1.26},
        {"date": "2024-03-15", "mrr": 1241000, "mrr-new-business": 0, "mrr-expansion": 2990,
         "mrr-contraction": 0, "mrr-churn": -14990, "mrr-reactivation": 3000, "percentage-change": -0.72},
    ]


@freeze_time(f"{TODAY} 23:59:59")
def test_given_mrr_entries_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    http_mocker.get(api_request("metrics/mrr", RANGE), HttpResponse(json.dumps(template("mrr"))))

    assert_records_match_schema(read("mrr"))


@freeze_time("2024-12-31 12:00:00")
def test_given_daily_interval_when_read_then_sends_day(http_mocker):
    params = {"start-date": "2024-12-01", "end-date": "2024-12-31", "interval": "day"}
    http_mocker.get(api_request("metrics/mrr", params), HttpResponse(json.dumps({"entries": [], "summary": {}})))

    output = read("mrr", config(start_date="2024-12-01T00:00:00Z", interval="day"))

    assert not output.errors
    assert sent_requests(http_mocker) == [("metrics/mrr", params)]


@freeze_time(f"{TODAY} 23:59:59")
def test_given_no_entries_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("metrics/mrr", RANGE), HttpResponse(json.dumps({"entries": [], "summary": {}})))

    output = read("mrr")

    assert not output.errors
    assert output.records == []
