"""The simulated ChartMogul (source_chartmogul.simulation) that the demo, the tests and the benchmark read: the
synthetic account (every stream, lazy records, binary-searched dates, data source filters, per-customer routes, metric
buckets per interval), and the routes Dataset.from_records derives for substreams and one-object endpoints."""

import json
from datetime import date
from urllib.error import HTTPError
from urllib.parse import quote_plus
from urllib.request import Request, urlopen

import pytest

from testkit.connector import API_KEY
from unit_tests.builders import basic_auth_header
from source_chartmogul.simulation import Dataset, Endpoint, SimulatedChartMogul, Route


def _get(fake: SimulatedChartMogul, path: str, **params: str) -> dict:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    request = Request(f"{fake.url}/v1/{path}?{query}", headers={"Authorization": basic_auth_header()})
    with urlopen(request) as response:
        return json.loads(response.read())


def _all_pages(fake: SimulatedChartMogul, path: str, key: str = "entries", **params: str) -> list:
    records, cursor = [], None
    while True:
        body = _get(fake, path, per_page="200", **params, **({"cursor": cursor} if cursor else {}))
        records += body[key]
        if not body["has_more"]:
            return records
        cursor = body["cursor"]


def test_given_a_lazy_account_when_a_date_window_is_paged_then_it_returns_what_a_full_scan_of_the_records_returns():
    lazy = Dataset.generate(customers=50, activities=3_000, metric_days=30, lazy=True)
    records = list(lazy.routes["activities"].records)
    eager_copy = Dataset({"activities": Route("dated", records)})  # not ordered: the server scans every record
    window = {"start-date": records[1000]["date"].replace("+00:00", "Z"), "end-date": "2026-10-20T23:59:59Z"}

    with SimulatedChartMogul(lazy, API_KEY) as searched, SimulatedChartMogul(eager_copy, API_KEY) as scanned:
        by_search = _all_pages(searched, "activities", **window)
        by_scan = _all_pages(scanned, "activities", **window)

    assert lazy.routes["activities"].ordered and not eager_copy.routes["activities"].ordered
    assert by_search == by_scan and len(by_search) > 400  # several pages
    assert by_search[0]["date"] == records[1000]["date"] and by_search[-1]["date"] <= "2026-10-20T23:59:59+00:00"
    assert [r["date"] for r in records] == sorted(r["date"] for r in records)


def test_given_a_lazy_account_of_millions_when_indexed_then_records_are_built_on_demand_stable_and_linked():
    accounts = Dataset.generate(customers=2_000_000, activities=20_000_000, lazy=True)
    customers, activities = accounts.routes["customers"].records, accounts.routes["activities"].records

    assert len(customers) == 2_000_000 and len(activities) == 20_000_000
    assert customers[1_999_999] == customers[-1] == customers[1_999_999]  # rebuilt identically on every read
    assert len({c["uuid"] for c in customers[:1000]}) == 1000 and customers[5]["uuid"].startswith("cus_")
    owner = int(activities[123]["customer-external-id"].removeprefix("acct_"))
    assert activities[123]["customer-uuid"] == customers[owner]["uuid"]  # activities point at real customers


def test_given_rows_of_a_substream_when_served_then_each_parent_has_its_own_route_without_the_added_field():
    """Dataset.from_records for customer_subscriptions and account (what the conformance tests serve)."""
    endpoints = {
        "customers": Endpoint("customers"),
        "customer_subscriptions": Endpoint("customers/{customer_uuid}/subscriptions", parent="customers", partition_field="customer_uuid"),
        "account": Endpoint("account", kind="object", records_key=""),
    }
    rows = [{"stream": "customers", "data": {"uuid": uuid}} for uuid in ("cus_a", "cus_b")]
    rows += [{"stream": "customer_subscriptions", "data": {"uuid": f"sub_{n}", "customer_uuid": "cus_a"}} for n in (1, 2)]
    rows += [{"stream": "account", "data": {"name": "Rocket Analytics", "currency": "EUR"}}]

    with SimulatedChartMogul(Dataset.from_records(rows, endpoints), API_KEY) as fake:
        assert _all_pages(fake, "customers/cus_a/subscriptions") == [{"uuid": "sub_1"}, {"uuid": "sub_2"}]
        assert _all_pages(fake, "customers/cus_b/subscriptions") == []  # a customer without subscriptions
        assert _get(fake, "account") == {"name": "Rocket Analytics", "currency": "EUR"}  # one object, no envelope
        with pytest.raises(HTTPError) as unknown:  # a customer ChartMogul does not have
            _get(fake, "customers/cus_gone/subscriptions")
        assert unknown.value.code == 404

    orphan = [{"stream": "customer_subscriptions", "data": {"uuid": "sub_9", "customer_uuid": "cus_gone"}}]
    with pytest.raises(KeyError, match="customer_uuid is no customers row's uuid"):
        Dataset.from_records(rows + orphan, endpoints)


def test_given_a_data_source_filter_when_paged_then_lists_that_source_s_records_and_merged_customers_under_each_source():
    account = Dataset.generate(customers=150, activities=2_400, metric_days=30, lazy=True)
    sources = [source["uuid"] for source in account.routes["data_sources"].records]
    merged = [c for c in account.routes["customers"].records if len(c["data_source_uuids"]) == 2]

    with SimulatedChartMogul(account, API_KEY) as fake:
        events = {s: _all_pages(fake, "subscription_events", data_source_uuid=s, key="subscription_events") for s in sources}
        customers = {s: _all_pages(fake, "customers", data_source_uuid=s) for s in sources}

    assert len(sources) == 3 and merged
    assert sorted(e["id"] for page in events.values() for e in page) == [e["id"] for e in account.routes["subscription_events"].records]
    assert all({e["data_source_uuid"] for e in page} == {s} for s, page in events.items())
    for customer in merged:  # ChartMogul lists a merged customer under every data source it came from
        assert [s for s in sources if customer["uuid"] in {c["uuid"] for c in customers[s]}] == sorted(
            customer["data_source_uuids"], key=sources.index)


def test_given_the_synthetic_account_then_it_holds_records_for_every_stream_the_connector_discovers():
    from unit_tests.builders import discovered_schemas

    account = Dataset.generate(customers=40, activities=400, metric_days=10, lazy=True)

    assert set(discovered_schemas()) <= set(account.streams)  # what the benchmark needs to read every stream
    assert account.streams["invoices"] == 80 and account.streams["subscription_events"] == 100
    assert account.streams["customer_count"] == len(account.routes["metrics/customer-count"].records) == 11
    invoices = account.routes["invoices"].records
    assert account.streams["invoice_line_items"] == sum(len(i["line_items"]) for i in invoices) > 80
    assert account.streams["invoice_transactions"] == sum(len(i["transactions"]) for i in invoices) == 80


@pytest.mark.parametrize("interval, dates", [
    ("day", ["2026-03-29", "2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"]),
    ("week", ["2026-01-04", "2026-01-11"]),
    ("month", ["2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-07"]),
    ("quarter", ["2025-12-31", "2026-03-31", "2026-05-07"]),
    ("year", ["2025-12-31", "2026-05-07"]),
])
def test_given_an_interval_when_metrics_are_asked_for_then_one_entry_per_bucket_dated_its_last_day(interval, dates):
    """One entry per bucket, on its last day (weeks end on Sunday); the bucket open at end-date is dated end-date."""
    account = Dataset.generate(customers=10, activities=10, metric_days=400, end=date(2026, 5, 7))
    start, end = {"day": ("2026-03-29", "2026-04-02"), "week": ("2026-01-01", "2026-01-15")}.get(interval, ("2025-12-01", "2026-05-07"))
    if interval == "week":
        dates = [*dates, "2026-01-15"]  # a Thursday: the open week

    with SimulatedChartMogul(account, API_KEY) as simulation:
        entries = _get(simulation, "metrics/mrr", **{"start-date": start, "end-date": end, "interval": interval})["entries"]

    assert [entry["date"] for entry in entries] == dates


def test_given_a_customer_s_subscriptions_path_when_requested_then_served_on_demand_and_unknown_customers_are_404():
    account = Dataset.generate(customers=40, activities=400, metric_days=10, lazy=True)
    customer = account.routes["customers"].records[17]["uuid"]
    unknown = customer[:-12] + f"{39:012x}"  # right index, wrong uuid

    with SimulatedChartMogul(account, API_KEY) as fake:
        subscriptions = _all_pages(fake, f"customers/{customer}/subscriptions")
        served = {c["uuid"]: len(_all_pages(fake, f"customers/{c['uuid']}/subscriptions"))
                  for c in account.routes["customers"].records}
        with pytest.raises(HTTPError) as missing:
            _get(fake, f"customers/{unknown}/subscriptions")

    assert len(subscriptions) == served[customer] <= 3 and all(s["uuid"] for s in subscriptions)
    assert sum(served.values()) == account.streams["customer_subscriptions"]
    assert missing.value.code == 404


def test_given_the_plans_filter_when_metrics_are_asked_for_then_each_plan_name_has_its_share_and_an_unknown_name_none():
    """Every plan name is a plan in each of the 3 data sources; a plan's amounts and counts are its share of the
    account's (so the plans add up to about the account), its rates and changes the account's; two names add up."""
    account = Dataset.generate(customers=10, activities=10, metric_days=40, end=date(2026, 5, 7))
    plans = account.routes["plans"].records
    names = list(dict.fromkeys(p["name"] for p in plans))
    window = {"start-date": "2026-05-01", "end-date": "2026-05-07", "interval": "month"}

    with SimulatedChartMogul(account, API_KEY) as simulation:
        whole = _get(simulation, "metrics/mrr", **window)["entries"][-1]
        each = {name: _get(simulation, "metrics/mrr", **window, plans=quote_plus(name))["entries"][-1] for name in names}
        two = _get(simulation, "metrics/all", **window, plans=quote_plus(f"{names[0]},{names[1]}"))["entries"][-1]
        one, other = (_get(simulation, "metrics/all", **window, plans=quote_plus(n))["entries"][-1] for n in names[:2])
        unknown = _get(simulation, "metrics/mrr", **window, plans="Deleted%20Plan")["entries"]

    assert len(plans) == 30 and len(names) == 10 and {"Pro (annual)", "Équipe Plus", "Add-on: Seats"} <= set(names)
    assert all(sorted(p["data_source_uuid"] for p in plans if p["name"] == name) == sorted(set(p["data_source_uuid"] for p in plans))
               for name in names)
    assert len({entry["mrr"] for entry in each.values()}) == 10  # a distinct value for each plan
    assert abs(sum(entry["mrr"] for entry in each.values()) - whole["mrr"]) <= 10  # rounding of 10 shares
    assert all(entry["percentage-change"] == whole["percentage-change"] for entry in each.values())
    assert abs(two["mrr"] - one["mrr"] - other["mrr"]) <= 1 and two["customer-churn-rate"] == one["customer-churn-rate"]
    assert unknown == []


def test_given_rows_of_a_stream_by_plan_when_served_then_each_plan_gets_its_own_rows_without_the_added_field():
    rows = [{"stream": "mrr", "data": {"date": "2026-01-31", "mrr": 300}},
            {"stream": "mrr_by_plan", "data": {"plan": "Pro (annual)", "date": "2026-01-31", "mrr": 200}},
            {"stream": "mrr_by_plan", "data": {"plan": "Starter", "date": "2026-01-31", "mrr": 100}}]
    endpoints = {"mrr": Endpoint("metrics/mrr", kind="metrics"),
                 "mrr_by_plan": Endpoint("metrics/mrr", kind="metrics", filter_param="plans", filter_field="plan")}
    window = {"start-date": "2026-01-01", "end-date": "2026-01-31", "interval": "month"}

    with SimulatedChartMogul(Dataset.from_records(rows, endpoints), API_KEY) as simulation:
        whole = _get(simulation, "metrics/mrr", **window)["entries"]
        pro = _get(simulation, "metrics/mrr", **window, plans=quote_plus("Pro (annual)"))["entries"]
        gone = _get(simulation, "metrics/mrr", **window, plans="Gold")["entries"]

    assert whole == [{"date": "2026-01-31", "mrr": 300}]
    assert pro == [{"date": "2026-01-31", "mrr": 200}]
    assert gone == []
