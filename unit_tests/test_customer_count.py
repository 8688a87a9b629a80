"""customer_count: GET /v1/metrics/customer-count with start-date, end-date and interval as query parameters."""

import json

import pytest
from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from unit_tests.builders import api_request, assert_records_match_schema, config, read, template


@freeze_time("2024-04-15T08:30:00Z")
def test_given_config_when_read_then_asks_from_start_day_to_today_at_the_interval_and_emits_each_entry(http_mocker):
    http_mocker.get(
        api_request("metrics/customer-count", {"start-date": "2024-01-01", "end-date": "2024-04-15", "interval": "month"}),
        HttpResponse(json.dumps(template("customer_count"))),
    )

    output = read("customer_count")

    assert not output.errors
    assert [m.record.data for m in output.records] == [
        {"date": "2024-01-31", "customers": 412, "percentage-change": 0.0},
        {"date": "2024-02-29", "customers": 420, "percentage-change": 1.94},
        {"date": "2024-03-31", "customers": 415, "percentage-change": -1.19},
    ]  # the response's `summary` is not a record
    assert_records_match_schema(output)


@freeze_time("2024-04-15T23:59:59Z")
@pytest.mark.parametrize("interval", ["day", "week", "quarter", "year"])
def test_given_interval_when_read_then_sends_it_and_the_day_of_start_date(http_mocker, interval):
    http_mocker.get(
        api_request("metrics/customer-count", {"start-date": "2023-07-04", "end-date": "2024-04-15", "interval": interval}),
        HttpResponse(json.dumps({"entries": [{"date": "2023-07-04", "customers": 3, "percentage-change": 0.0}],
                                 "summary": {"current": 3, "previous": 3, "percentage-change": 0.0}})),
    )

    output = read("customer_count", config(start_date="2023-07-04T18:45:00Z", interval=interval))

    assert [m.record.data["customers"] for m in output.records] == [3]
