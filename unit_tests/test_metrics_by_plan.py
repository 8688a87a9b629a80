"""metrics_by_plan: GET /v1/metrics/all?plans=<name> once per distinct plan name of GET /v1/plans, for start_date..today
(UTC) at the configured interval; each entry as ChartMogul sends it with `plan` (the name) added; PK [plan, date].

A name shared by plans of several data sources is asked for once; a name with a comma (the filter's separator) is
skipped with one log line; a plan ChartMogul no longer knows when its metrics are asked for (404) is skipped."""

import json
from pathlib import Path
from urllib.parse import quote_plus

import yaml
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver
from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from unit_tests.builders import (
    RECURLY, STRIPE, api_request, assert_records_match_schema, config, error, mock_cursor_pages,
    mock_metric_of_plan, plan, read, sent_requests, sent_urls, template,
)

MANIFEST = Path(__file__).resolve().parents[1] / "source_chartmogul" / "manifest.yaml"
TODAY = "2024-03-15"
RANGE = {"start-date": "2024-01-01", "end-date": TODAY, "interval": "month"}
PLANS_PAGE = {"per_page": "200"}


def metrics_of(share: float) -> dict:
    """The template's /v1/metrics/all answer scaled to one plan's share: distinct values for each plan."""
    body = template("metrics")
    body["entries"] = [{k: (round(v * share) if isinstance(v, int) and not k.endswith("percentage-change") else v)
                        for k, v in entry.items()} for entry in body["entries"]]
    return body


def mock_metrics(http_mocker, name: str, body) -> tuple:
    return mock_metric_of_plan(http_mocker, "metrics/all", RANGE, name, body)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_name_in_several_data_sources_when_read_then_asks_for_each_distinct_name_once(http_mocker):
    plans = [plan("Pro (annual)", STRIPE, 1), plan("Pro (annual)", RECURLY, 2), plan("Starter", STRIPE, 3),
             plan("Starter", RECURLY, 4)]
    expected = mock_cursor_pages(http_mocker, "plans", [plans], key="plans")
    expected += [mock_metrics(http_mocker, "Pro (annual)", metrics_of(0.6)), mock_metrics(http_mocker, "Starter", metrics_of(0.4))]

    output = read("metrics_by_plan")

    assert not output.errors
    assert sorted(sent_requests(http_mocker), key=str) == sorted(expected, key=str)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_name_repeated_on_a_later_plans_page_when_read_then_it_is_still_asked_for_once(http_mocker):
    pages = [[plan("Pro (annual)", STRIPE, 1)], [plan("Pro (annual)", RECURLY, 2), plan("Team", RECURLY, 3)]]
    expected = mock_cursor_pages(http_mocker, "plans", pages, key="plans")
    expected += [mock_metrics(http_mocker, "Pro (annual)", metrics_of(0.6)), mock_metrics(http_mocker, "Team", metrics_of(0.4))]

    output = read("metrics_by_plan")

    assert not output.errors
    assert sorted(sent_requests(http_mocker), key=str) == sorted(expected, key=str)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_names_with_spaces_parentheses_and_accents_when_read_then_they_are_sent_encoded_and_arrive_exactly(http_mocker):
    names = ["Pro (annual)", "Équipe Plus", "Add-on: 10 seats & more", "2024", "None", "  padded  "]
    mock_cursor_pages(http_mocker, "plans", [[plan(name, STRIPE, n) for n, name in enumerate(names, 1)]], key="plans")
    for name in names:
        mock_metrics(http_mocker, name, metrics_of(0.1))

    output = read("metrics_by_plan")

    assert not output.errors
    urls = [url for url in sent_urls(http_mocker) if "/metrics/all" in url]
    assert sorted(params["plans"] for path, params in sent_requests(http_mocker) if path == "metrics/all") == sorted(names)
    for name in names:  # percent-encoded UTF-8 (a space as +), never a raw space, parenthesis or accent
        assert sum(f"plans={quote_plus(name)}" in url for url in urls) == 1, name
    assert all(" " not in url and "(" not in url and "É" not in url for url in urls)
    assert sorted({m.record.data["plan"] for m in output.records}) == sorted(names)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_two_plans_when_read_then_emits_each_entry_as_sent_with_its_plan_name(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Pro (annual)", STRIPE, 1), plan("Starter", RECURLY, 2)]], key="plans")
    pro, starter = metrics_of(0.75), metrics_of(0.25)
    mock_metrics(http_mocker, "Pro (annual)", pro)
    mock_metrics(http_mocker, "Starter", starter)

    records = sorted((m.record.data for m in read("metrics_by_plan").records), key=lambda r: (r["plan"], r["date"]))

    assert records == [{"plan": "Pro (annual)", **entry} for entry in pro["entries"]] + \
        [{"plan": "Starter", **entry} for entry in starter["entries"]]
    assert records[0]["mrr"] == 925875 and records[3]["mrr"] == 308625  # 75% and 25% of 1,234,500 cents
    assert records[0]["customer-churn-rate"] == template("metrics")["entries"][0]["customer-churn-rate"]


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_name_with_a_comma_when_read_then_it_is_skipped_with_one_log_line_saying_why(http_mocker):
    plans = [plan("Seats, legacy", STRIPE, 1), plan("Seats, legacy", RECURLY, 2), plan("Starter", STRIPE, 3)]
    expected = mock_cursor_pages(http_mocker, "plans", [plans], key="plans")
    expected.append(mock_metrics(http_mocker, "Starter", metrics_of(0.5)))

    output = read("metrics_by_plan")

    assert not output.errors
    assert sorted(sent_requests(http_mocker), key=str) == sorted(expected, key=str)
    assert {m.record.data["plan"] for m in output.records} == {"Starter"}
    skipped = [m.log.message for m in output.logs if "skipped the plan" in m.log.message]
    assert skipped == [
        f"metrics_by_plan: skipped the plan 'Seats, legacy' ({plans[0]['uuid']}): its name contains a comma, which "
        "ChartMogul's `plans` filter reads as a separator between plan names, so its metrics cannot be asked for alone. "
        "Rename the plan in ChartMogul without a comma to read its metrics; the account's metrics still include it."]


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_plan_deleted_before_its_metrics_request_when_it_answers_404_then_only_that_plan_is_skipped(http_mocker, retry_sleeps):
    mock_cursor_pages(http_mocker, "plans", [[plan("Legacy Gold", STRIPE, 1), plan("Starter", STRIPE, 2)]], key="plans")
    mock_metrics(http_mocker, "Legacy Gold", error(404, {"code": 404, "message": "Plan not found", "param": "plans"}))
    mock_metrics(http_mocker, "Starter", metrics_of(0.5))

    output = read("metrics_by_plan")

    assert not output.errors
    assert {m.record.data["plan"] for m in output.records} == {"Starter"} and len(output.records) == 3
    skipped = [m.log.message for m in output.logs if "Skipped the metrics of a plan" in m.log.message]
    assert skipped == [
        "Skipped the metrics of a plan ChartMogul no longer knows (https://api.chartmogul.com/v1/metrics/all answered "
        "404: Plan not found; the plan was deleted or renamed during the sync). The other plans' metrics are read as "
        "usual; the next sync reads the plans list again."]
    assert retry_sleeps == []  # skipped at once, not retried


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_plan_chartmogul_answers_no_entries_for_when_read_then_it_has_no_record_and_no_error(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Legacy Gold", STRIPE, 1), plan("Starter", STRIPE, 2)]], key="plans")
    mock_metrics(http_mocker, "Legacy Gold", {"entries": [], "summary": {}})
    mock_metrics(http_mocker, "Starter", metrics_of(0.5))

    output = read("metrics_by_plan")

    assert not output.errors
    assert {m.record.data["plan"] for m in output.records} == {"Starter"}


@freeze_time(f"{TODAY} 18:30:00")
def test_given_a_rejected_date_range_when_read_then_fails_as_a_config_error_quoting_chartmogul(http_mocker, retry_sleeps):
    """Only a 404 skips a plan: a 400 comes for a wrong start date or interval, which every plan would get."""
    mock_cursor_pages(http_mocker, "plans", [[plan("Starter", STRIPE, 1)]], key="plans")
    mock_metrics(http_mocker, "Starter", error(400, {"code": 400, "message": "Invalid start-date", "param": "start-date"}))

    output = read("metrics_by_plan")

    (failure,) = [e.trace.error for e in output.errors if e.trace.error.failure_type.value == "config_error"][:1]
    assert failure.message.startswith('ChartMogul rejected the request to https://api.chartmogul.com/v1/metrics/all: '
                                      '"Invalid start-date". Check \'Start date\'')


@freeze_time(f"{TODAY} 18:30:00")
def test_given_no_plans_when_read_then_asks_for_no_metrics_and_emits_nothing(http_mocker):
    expected = mock_cursor_pages(http_mocker, "plans", [[]], key="plans")

    output = read("metrics_by_plan")

    assert not output.errors
    assert output.records == []
    assert sent_requests(http_mocker) == expected


@freeze_time("2024-12-31 12:00:00")
def test_given_daily_interval_when_read_then_each_plan_s_request_sends_day_and_the_start_date(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Starter", STRIPE, 1)]], key="plans")
    params = {"start-date": "2024-12-01", "end-date": "2024-12-31", "interval": "day", "plans": "Starter"}
    http_mocker.get(api_request("metrics/all", params), HttpResponse(json.dumps({"entries": [], "summary": {}})))

    output = read("metrics_by_plan", config(start_date="2024-12-01T00:00:00Z", interval="day"))

    assert not output.errors
    assert ("metrics/all", params) in sent_requests(http_mocker)


@freeze_time(f"{TODAY} 18:30:00")
def test_given_plans_with_metrics_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Pro (annual)", STRIPE, 1), plan("Starter", RECURLY, 2)]], key="plans")
    mock_metrics(http_mocker, "Pro (annual)", metrics_of(0.75))
    mock_metrics(http_mocker, "Starter", metrics_of(0.25))

    assert_records_match_schema(read("metrics_by_plan"))


def test_the_by_plan_error_handler_is_the_shared_one_with_only_the_404_skip_put_first():
    """The manifest lists the shared filters one by one after the 404 skip: none may be missing or out of order."""
    manifest = ManifestReferenceResolver().preprocess_manifest(yaml.safe_load(MANIFEST.read_text()))["definitions"]
    shared, own = manifest["error_handler"], manifest["by_plan_error_handler"]
    skip, *rest = own["response_filters"]

    assert (skip["http_codes"], skip["action"]) == ([404], "IGNORE")
    assert rest == shared["response_filters"]
    assert {k: v for k, v in own.items() if k != "response_filters"} == {k: v for k, v in shared.items() if k != "response_filters"}
