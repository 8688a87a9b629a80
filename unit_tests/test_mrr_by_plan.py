"""mrr_by_plan: GET /v1/metrics/mrr?plans=<name> (MRR movements) once per distinct plan name of GET /v1/plans, for
start_date..today (UTC) at the configured interval; each entry as ChartMogul sends it with `plan` (the name) added;
PK [plan, date]. Shares the plan names, their encoding, the comma skip and the 404 skip with metrics_by_plan
(test_metrics_by_plan.py); here each is checked on this stream's own requests and records."""

import json
from urllib.parse import quote_plus

from airbyte_cdk.test.mock_http import HttpResponse
from freezegun import freeze_time

from testkit.connector import catalog, run_cli
from unit_tests.builders import (
    RECURLY, STRIPE, api_request, assert_records_match_schema, config, error, mock_cursor_pages, mock_metric_of_plan,
    plan, read, sent_requests, sent_urls, template,
)

TODAY = "2024-03-15"
RANGE = {"start-date": "2024-01-01", "end-date": TODAY, "interval": "month"}


def mrr_of(share: float) -> dict:
    """The template's /v1/metrics/mrr answer scaled to one plan's share: distinct amounts for each plan."""
    body = template("mrr")
    body["entries"] = [{k: (round(v * share) if isinstance(v, int) else v) for k, v in entry.items()} for entry in body["entries"]]
    return body


def mock_mrr(http_mocker, name: str, body) -> tuple:
    return mock_metric_of_plan(http_mocker, "metrics/mrr", RANGE, name, body)


@freeze_time(f"{TODAY} 23:59:59")
def test_given_names_shared_by_data_sources_when_read_then_asks_for_each_distinct_name_once_encoded(http_mocker):
    plans = [plan("Équipe (annual)", STRIPE, 1), plan("Équipe (annual)", RECURLY, 2), plan("Starter Monthly", RECURLY, 3)]
    expected = mock_cursor_pages(http_mocker, "plans", [plans], key="plans")
    expected += [mock_mrr(http_mocker, "Équipe (annual)", mrr_of(0.7)), mock_mrr(http_mocker, "Starter Monthly", mrr_of(0.3))]

    output = read("mrr_by_plan")

    assert not output.errors
    assert sorted(sent_requests(http_mocker), key=str) == sorted(expected, key=str)
    urls = [url for url in sent_urls(http_mocker) if "/metrics/mrr" in url]
    assert sorted(url.split("plans=")[1] for url in urls) == sorted([quote_plus("Équipe (annual)"), quote_plus("Starter Monthly")])


@freeze_time(f"{TODAY} 23:59:59")
def test_given_two_plans_when_read_then_emits_each_plan_s_movements_in_cents_with_its_name(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Pro (annual)", STRIPE, 1), plan("Starter", STRIPE, 2)]], key="plans")
    mock_mrr(http_mocker, "Pro (annual)", mrr_of(0.8))
    mock_mrr(http_mocker, "Starter", mrr_of(0.2))

    records = {(m.record.data["plan"], m.record.data["date"]): m.record.data for m in read("mrr_by_plan").records}

    assert len(records) == 6
    assert records[("Pro (annual)", "2024-01-31")] == {
        "plan": "Pro (annual)", "date": "2024-01-31", "mrr": 987600, "mrr-new-business": 36000, "mrr-expansion": 9600,
        "mrr-contraction": -2800, "mrr-churn": -7920, "mrr-reactivation": 0, "percentage-change": 0.0}
    assert records[("Starter", "2024-03-15")] == {
        "plan": "Starter", "date": "2024-03-15", "mrr": 248200, "mrr-new-business": 0, "mrr-expansion": 598,
        "mrr-contraction": 0, "mrr-churn": -2998, "mrr-reactivation": 600, "percentage-change": -0.72}


@freeze_time(f"{TODAY} 23:59:59")
def test_given_a_name_with_a_comma_when_read_then_no_request_names_it_and_one_log_line_says_why(http_mocker):
    plans = [plan("Pro, legacy", STRIPE, 1), plan("Pro, legacy", RECURLY, 2), plan("Starter", STRIPE, 3)]
    mock_cursor_pages(http_mocker, "plans", [plans], key="plans")
    mock_mrr(http_mocker, "Starter", mrr_of(0.5))

    output = read("mrr_by_plan")

    assert not output.errors
    assert [params["plans"] for path, params in sent_requests(http_mocker) if path == "metrics/mrr"] == ["Starter"]
    skipped = [m.log.message for m in output.logs if "skipped the plan" in m.log.message]
    assert len(skipped) == 1
    assert skipped[0].startswith(f"mrr_by_plan: skipped the plan 'Pro, legacy' ({plans[0]['uuid']}): its name contains a comma")


@freeze_time(f"{TODAY} 23:59:59")
def test_given_both_streams_and_a_name_with_a_comma_when_read_then_each_stream_logs_it_once(http_mocker):
    plans = [plan("Pro, legacy", STRIPE, 1), plan("Starter", STRIPE, 2)]
    mock_cursor_pages(http_mocker, "plans", [plans], key="plans")  # read by each stream: the mock answers any number of times
    mock_mrr(http_mocker, "Starter", mrr_of(0.5))
    http_mocker.get(api_request("metrics/all", {**RANGE, "plans": "Starter"}), HttpResponse(json.dumps(template("metrics"))))

    output = run_cli("read", config(), catalog("metrics_by_plan", "mrr_by_plan"))

    assert not output.errors
    skipped = sorted(m.log.message.split(":")[0] for m in output.logs if "skipped the plan 'Pro, legacy'" in m.log.message)
    assert skipped == ["metrics_by_plan", "mrr_by_plan"]


@freeze_time(f"{TODAY} 23:59:59")
def test_given_a_plan_without_a_name_when_read_then_it_is_skipped_with_a_log_line(http_mocker):
    nameless = {**plan("", STRIPE, 1), "name": None}
    mock_cursor_pages(http_mocker, "plans", [[nameless, plan("Starter", STRIPE, 2)]], key="plans")
    mock_mrr(http_mocker, "Starter", mrr_of(0.5))

    output = read("mrr_by_plan")

    assert not output.errors
    assert {m.record.data["plan"] for m in output.records} == {"Starter"}
    assert [m.log.message for m in output.logs if "skipped the plan" in m.log.message] == [
        f"mrr_by_plan: skipped the plan {nameless['uuid']}: it has no name, and ChartMogul's `plans` filter selects plans "
        "by name. Give the plan a name in ChartMogul to read its metrics; the account's metrics still include it."]


@freeze_time(f"{TODAY} 23:59:59")
def test_given_a_deleted_plan_answering_404_when_read_then_the_other_plans_mrr_is_read(http_mocker, retry_sleeps):
    mock_cursor_pages(http_mocker, "plans", [[plan("Legacy Gold", STRIPE, 1), plan("Starter", STRIPE, 2)]], key="plans")
    mock_mrr(http_mocker, "Legacy Gold", error(404, {"code": 404, "message": "Plan not found", "param": "plans"}))
    mock_mrr(http_mocker, "Starter", mrr_of(0.5))

    output = read("mrr_by_plan")

    assert not output.errors
    assert sorted(m.record.data["date"] for m in output.records) == ["2024-01-31", "2024-02-29", "2024-03-15"]
    assert any(m.log.message.startswith("Skipped the metrics of a plan ChartMogul no longer knows "
                                        "(https://api.chartmogul.com/v1/metrics/mrr answered 404: Plan not found;")
               for m in output.logs)


@freeze_time(f"{TODAY} 23:59:59")
def test_given_plans_with_mrr_when_read_then_every_record_matches_the_discovered_schema(http_mocker):
    mock_cursor_pages(http_mocker, "plans", [[plan("Pro (annual)", STRIPE, 1), plan("Starter", RECURLY, 2)]], key="plans")
    mock_mrr(http_mocker, "Pro (annual)", mrr_of(0.8))
    mock_mrr(http_mocker, "Starter", mrr_of(0.2))

    assert_records_match_schema(read("mrr_by_plan"))
