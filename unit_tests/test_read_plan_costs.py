"""What each stream costs in requests (read_plan.costs): from the stream's own definition in the manifest, the same
whether the CDK resolved it or the loader did, and estimated from what is known of the account's size.
integration_tests/test_duckdb_mirror.py compares the estimates with the requests the simulation sees."""

from datetime import date

import pytest

from source_chartmogul import read_plan
from source_chartmogul.loader import catalog
from unit_tests.builders import config

DEFINITIONS = {name: stream.definition for name, stream in catalog.streams().items()}
ALL = list(DEFINITIONS)
TODAY = date(2026, 12, 7)


def test_the_cost_of_each_stream_is_the_same_from_the_cdk_s_resolved_manifest():
    from source_chartmogul.source import SourceChartmogul

    resolved = {s["name"]: s for s in SourceChartmogul(config=config()).resolved_manifest["streams"]}
    account = read_plan.Account({name: 450 for name in ALL}, {"invoices": [150, 150], "subscription_events": [500]}, 10, 30)

    assert read_plan.costs(resolved, ALL, account, today=TODAY) == read_plan.costs(DEFINITIONS, ALL, account, today=TODAY)


def test_before_a_first_load_each_stream_says_what_one_request_reads_and_only_single_requests_are_counted():
    costs = {cost.stream: (cost.how, cost.requests) for cost in read_plan.costs(DEFINITIONS, ALL, read_plan.Account(), today=TODAY)}
    exact = [cost.stream for cost in read_plan.costs(DEFINITIONS, ALL, read_plan.Account(), today=TODAY) if cost.exact]

    assert costs == {
        "customers": ("1 request per 200 customers", None),
        "customer_count": ("1 request", 1), "metrics": ("1 request", 1), "mrr": ("1 request", 1), "data_sources": ("1 request", 1),
        "plans": ("1 request per 200 plans", None), "plan_groups": ("1 request per 200 plan_groups", None),
        "subscription_events": ("1 data_sources request, then 1 per 200 subscription_events of each data source", None),
        "invoices": ("1 data_sources request, then 1 per 200 invoices of each data source", None),
        "invoice_line_items": ("1 data_sources request; the invoices pages come with the requests of invoices", 1),
        "invoice_transactions": ("1 data_sources request; the invoices pages come with the requests of invoices", 1),
        "contacts": ("1 request per 200 contacts", None), "opportunities": ("1 request per 200 opportunities", None),
        "tasks": ("1 request per 200 tasks", None), "notes": ("1 request per 200 notes", None), "account": ("1 request", 1),
        "activities": ("1 request for the first of the activities, then 1 per 200 activities in windows of at most 20 "
                       "pages from it; the connector says how many windows once it knows the first", None),
        "metrics_by_plan": ("1 request per distinct plan name, and the plans list", None),
        "mrr_by_plan": ("1 request per distinct plan name, and the plans list", None),
        "customer_subscriptions": ("1 request per customer, and the customers list", None),
    }
    assert exact == ["customer_count", "metrics", "mrr", "data_sources", "invoice_line_items", "invoice_transactions", "account"]


def test_the_invoice_pages_are_counted_once_with_the_first_selected_stream_that_reads_them():
    account = read_plan.Account({"invoices": 900}, {"invoices": [300, 300, 300]})

    lines = read_plan.costs(DEFINITIONS, ["invoice_line_items", "invoice_transactions"], account, today=TODAY)

    assert [(cost.stream, cost.requests) for cost in lines] == [("invoice_line_items", 1 + 6), ("invoice_transactions", 1)]
    assert lines[1].how == "1 data_sources request; the invoices pages come with the requests of invoice_line_items"


@pytest.mark.parametrize("stream, account, expected", [
    ("customers", read_plan.Account({"customers": 401}), 3),
    ("customers", read_plan.Account({"customers": 0}), 1),
    ("customer_subscriptions", read_plan.Account({"customers": 20_000}), 20_100),
    ("subscription_events", read_plan.Account({"subscription_events": 50_000}, {"subscription_events": [16_667, 16_667, 16_666]}), 1 + 3 * 84),
    ("mrr_by_plan", read_plan.Account({"plans": 30}, plan_names=10), 11),
    ("activities", read_plan.Account({"activities": 200_000}), 1 + 1_000 + 25),  # 50 windows of 20 pages, half a request more each
])
def test_a_stream_s_requests_are_estimated_from_the_account_s_size(stream, account, expected):
    (cost,) = read_plan.costs(DEFINITIONS, [stream], account, today=TODAY)

    assert cost.requests == expected


def test_an_incremental_read_from_a_saved_state_costs_a_request_per_10_day_window_and_per_200_activities_since():
    since = date(2026, 11, 10)

    (cost,) = read_plan.costs(DEFINITIONS, ["activities"], read_plan.Account(activities_since=450), {"activities": since}, TODAY)

    assert cost.how == "1 request per 200 activities in each 10-day window since 2026-11-10"
    assert cost.requests == 3 + 2  # 27 days: 3 windows; 450 activities: 2 more pages


def test_a_first_read_of_a_short_history_costs_a_request_per_10_day_window_since_the_start_date():
    """plan_activity_windows asks for the first activity only when the history is longer than 120 days."""
    start = date(2026, 10, 1)

    (cost,) = read_plan.costs(DEFINITIONS, ["activities"], read_plan.Account({"activities": 900}), today=TODAY, start_date=start)
    (long_history,) = read_plan.costs(DEFINITIONS, ["activities"], read_plan.Account({"activities": 900}), today=TODAY,
                                      start_date=date(2025, 1, 1))

    assert (cost.how, cost.requests) == ("1 request per 200 activities in each 10-day window since 2026-10-01", 7 + 4)
    assert long_history.how.startswith("1 request for the first of the activities") and long_history.requests == 1 + 5 + 2
