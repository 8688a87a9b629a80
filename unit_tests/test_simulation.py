"""The simulated ChartMogul (source_chartmogul.simulation) that the demo, the tests and the benchmark read: the
synthetic account (every stream, lazy records, binary-searched dates, data source filters, per-customer routes, metric
buckets per interval), and the routes Dataset.from_records derives for substreams and one-object endpoints."""

import collections
import json
from datetime import date, datetime, timedelta
from urllib.error import HTTPError
from urllib.parse import quote_plus
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest

from testkit.connector import API_KEY
from unit_tests.builders import basic_auth_header
from source_chartmogul.simulation import Dataset, Endpoint, SimulatedChartMogul, Route
from source_chartmogul.simulation.ledger import KINDS, PLAN_NAMES


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


# The benchmark's account (benchmarks/sync_benchmark.py) and what a full read of each stream returns, as the benchmark
# expects it; metrics at interval=day.
BENCHMARK = {"customers": 20_000, "activities": 200_000, "metric_days": 730}
BENCHMARK_STREAMS = {
    "customers": 20_000, "activities": 200_000, "invoices": 40_000, "invoice_line_items": 79_940,
    "invoice_transactions": 40_000, "subscription_events": 50_000, "contacts": 10_000, "opportunities": 5_000,
    "tasks": 5_000, "notes": 5_000, "plans": 30, "plan_groups": 6, "data_sources": 3, "account": 1,
    "customer_count": 731, "metrics": 731, "mrr": 731, "metrics_by_plan": 7_310, "mrr_by_plan": 7_310,
    "customer_subscriptions": 30_130,
}


@pytest.fixture(scope="module")
def benchmark_account() -> Dataset:
    return Dataset.generate(**BENCHMARK, lazy=True)


def test_given_the_benchmark_s_account_then_each_stream_holds_as_many_records_as_before(benchmark_account):
    routes = benchmark_account.routes
    customers = routes["customers"].records

    assert benchmark_account.streams == BENCHMARK_STREAMS
    assert {name: len(routes[path].records) for name, path in [
        ("customers", "customers"), ("activities", "activities"), ("invoices", "invoices"),
        ("subscription_events", "subscription_events"), ("contacts", "contacts"), ("opportunities", "opportunities"),
        ("tasks", "tasks"), ("notes", "notes"), ("plans", "plans"), ("plan_groups", "plan_groups"),
        ("data_sources", "data_sources"), ("customer_count", "metrics/customer-count"), ("metrics", "metrics/all"),
        ("mrr", "metrics/mrr")]} == {name: n for name, n in BENCHMARK_STREAMS.items() if name not in (
            "account", "invoice_line_items", "invoice_transactions", "metrics_by_plan", "mrr_by_plan", "customer_subscriptions")}
    # one route per customer, as many subscriptions as streams says (read from the ledger: 20,000 routes over HTTP
    # would be the benchmark itself)
    assert sum(len(routes.get(f"customers/{customers[i]['uuid']}/subscriptions").records)
               for i in range(len(customers))) == 30_130


def test_given_the_benchmark_s_account_then_it_is_held_in_compact_arrays_and_records_are_built_on_demand_stable_and_linked(benchmark_account):
    """An account of millions of activities (the benchmark's 10x: 2,000,000) is an index of arrays, a few bytes per
    customer and per activity, built once: 20,000,000 activities (an earlier version's test, whose records were
    functions of their index alone) would take minutes and half a gigabyte, so the promise is the index's size."""
    customers, activities = benchmark_account.routes["customers"].records, benchmark_account.routes["activities"].records

    assert benchmark_account.ledger.footprint() == {"activity": 17, "customer": 38}  # bytes, in arrays
    assert type(customers).__name__ == type(activities).__name__ == "SyntheticRecords"  # no record held
    assert activities[199_999] == activities[-1] == activities[199_999]  # rebuilt identically on every read
    assert customers[19_999] == customers[-1] and len({c["uuid"] for c in customers[:1000]}) == 1000
    owner = int(activities[123]["customer-external-id"].removeprefix("acct_"))
    assert activities[123]["customer-uuid"] == customers[owner]["uuid"]  # activities point at real customers
    assert activities[0]["date"] > "2024-11-01T00:00:00+00:00" and activities[-1]["date"] < "2026-11-01T00:00:00+00:00"


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


def test_given_the_plans_filter_when_metrics_are_asked_for_then_each_plan_name_has_its_subscriptions_mrr_and_an_unknown_name_none():
    """Every plan name is a plan in each of the 3 data sources; a name's metrics are those of the subscriptions on it
    (so the plans add up to the account), its rates its own; two names are the metrics of both names' subscriptions."""
    account = Dataset.generate(customers=300, activities=3_000, metric_days=400, end=date(2026, 5, 7))
    plans = account.routes["plans"].records
    names = list(dict.fromkeys(p["name"] for p in plans))
    window = {"start-date": "2026-05-01", "end-date": "2026-05-07", "interval": "month"}

    with SimulatedChartMogul(account, API_KEY) as simulation:
        whole = _get(simulation, "metrics/all", **window)["entries"][-1]
        each = {name: _get(simulation, "metrics/all", **window, plans=quote_plus(name))["entries"][-1] for name in names}
        two = _get(simulation, "metrics/all", **window, plans=quote_plus(f"{names[0]},{names[1]}"))["entries"][-1]
        unknown = _get(simulation, "metrics/mrr", **window, plans="Deleted%20Plan")["entries"]
        subscriptions = [s for c in account.routes["customers"].records
                         for s in _all_pages(simulation, f"customers/{c['uuid']}/subscriptions")]

    assert len(plans) == 30 and len(names) == 10 and {"Pro (annual)", "Équipe Plus", "Add-on: Seats"} <= set(names)
    assert all(sorted(p["data_source_uuid"] for p in plans if p["name"] == name) == sorted(set(p["data_source_uuid"] for p in plans))
               for name in names)
    assert {name: entry["mrr"] for name, entry in each.items()} == {
        name: sum(s["mrr"] for s in subscriptions if s["plan"] == name) for name in names}
    assert len({entry["mrr"] for entry in each.values()}) == 10 and min(e["mrr"] for e in each.values()) > 0
    assert sum(entry["mrr"] for entry in each.values()) == whole["mrr"] > 0  # exactly: the plans are the account
    assert two["mrr"] == each[names[0]]["mrr"] + each[names[1]]["mrr"]
    # a customer on both names counts once
    one, other = each[names[0]]["customers"], each[names[1]]["customers"]
    assert max(one, other) <= two["customers"] <= one + other
    assert two["arpa"] == round(two["mrr"] / two["customers"])
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


# --- One account: every MRR figure follows from its subscriptions' changes, as in ChartMogul --------------------------
BERLIN = ZoneInfo("Europe/Berlin")  # the generated account's time zone (GET /v1/account)
COHERENT = {"customers": 120, "activities": 2_400, "metric_days": 400, "end": date(2026, 5, 7)}
FIRST_DAY = COHERENT["end"] - timedelta(days=COHERENT["metric_days"])
INTERVALS = ("day", "week", "month", "quarter", "year")
FLOWS = dict(zip(KINDS, ("mrr-new-business", "mrr-expansion", "mrr-contraction", "mrr-churn", "mrr-reactivation")))


@pytest.fixture(scope="module")
def coherent() -> dict:
    """A small generated account read back over HTTP as the connector reads it: the account, plans, customers,
    activities and each customer's subscriptions, and the metrics (the account's, and each plan name's MRR) at every
    interval over the whole history."""
    account = Dataset.generate(**COHERENT, lazy=True)
    window = {"start-date": FIRST_DAY.isoformat(), "end-date": COHERENT["end"].isoformat()}
    with SimulatedChartMogul(account, API_KEY) as fake:
        read = {"account": _get(fake, "account"), "plans": _all_pages(fake, "plans", key="plans"),
                "customers": _all_pages(fake, "customers"), "activities": _all_pages(fake, "activities")}
        read["subscriptions"] = {c["uuid"]: _all_pages(fake, f"customers/{c['uuid']}/subscriptions") for c in read["customers"]}
        read["metrics"] = {(path, interval): _get(fake, f"metrics/{path}", **window, interval=interval)["entries"]
                           for path in ("mrr", "all", "customer-count") for interval in INTERVALS}
        read["by_plan"] = {(name, interval): _get(fake, "metrics/mrr", **window, interval=interval, plans=quote_plus(name))["entries"]
                           for name in PLAN_NAMES for interval in ("day", "month")}
    return read


def _day(activity: dict) -> date:
    """The day of an activity in the account's time zone."""
    return datetime.fromisoformat(activity["date"]).astimezone(BERLIN).date()


def _replay(activities: list, until: date) -> dict:
    """Each customer's MRR after its activities up to the end of day `until` in the account's time zone."""
    mrr: dict = {}
    for activity in activities:
        if _day(activity) <= until:
            mrr[activity["customer-uuid"]] = mrr.get(activity["customer-uuid"], 0) + activity["activity-mrr-movement"]
    return mrr


def test_given_a_generated_account_then_its_mrr_is_the_same_summed_by_customers_subscriptions_activities_metrics_and_plans(coherent):
    customers, activities, subscriptions = coherent["customers"], coherent["activities"], coherent["subscriptions"]
    active = [s for held in subscriptions.values() for s in held if s["status"] == "active"]
    total = sum(c["mrr"] for c in customers)

    assert total > 0 and coherent["metrics"][("mrr", "day")][-1]["date"] == "2026-05-07"
    assert total == coherent["metrics"][("mrr", "day")][-1]["mrr"] == coherent["metrics"][("all", "month")][-1]["mrr"] \
        == sum(s["mrr"] for s in active) == sum(a["activity-mrr-movement"] for a in activities) \
        == sum(coherent["by_plan"][(name, "day")][-1]["mrr"] for name in PLAN_NAMES)
    assert {name: coherent["by_plan"][(name, "day")][-1]["mrr"] for name in PLAN_NAMES} == {
        name: sum(s["mrr"] for s in active if s["plan"] == name) for name in PLAN_NAMES}  # each plan: its subscriptions'
    for customer in customers:  # a customer's MRR: its active subscriptions'
        held = subscriptions[customer["uuid"]]
        assert customer["mrr"] == sum(s["mrr"] for s in held if s["status"] == "active") and customer["arr"] == 12 * customer["mrr"]
        assert customer["status"] == ("Active" if customer["mrr"] else "Cancelled" if held else "New Lead")
        assert all(s["mrr"] > 0 if s["status"] == "active" else s["mrr"] == 0 for s in held)
        assert all(s["arr"] == 12 * s["mrr"] and s["quantity"] >= 1 for s in held)
    assert collections.Counter(c["status"] for c in customers).keys() == {"Active", "Cancelled", "New Lead"}
    # one currency
    assert coherent["account"]["currency"] == "USD" and {c["currency"] for c in customers} == {a["currency"] for a in activities} \
        == {s["currency"] for s in active} == {"USD"}


def test_each_activity_moves_its_customer_s_mrr_by_its_movement_and_is_typed_as_chartmogul_types_it(coherent):
    activities, customers = coherent["activities"], {c["uuid"]: c for c in coherent["customers"]}
    mrr: dict = {}
    for activity in activities:
        customer, movement, after = activity["customer-uuid"], activity["activity-mrr-movement"], activity["activity-mrr"]
        before = mrr.get(customer)
        assert after == (before or 0) + movement and movement != 0 and activity["activity-arr"] == 12 * after
        assert activity["type"] == ("new_biz" if before is None else "reactivation" if before == 0 else "churn" if after == 0
                                    else "expansion" if movement > 0 else "contraction")
        mrr[customer] = after

    assert [a["date"] for a in activities] == sorted(a["date"] for a in activities)
    assert activities[0]["date"] > f"{FIRST_DAY}T00:00:00+00:00"  # the whole history is read from end - metric_days
    assert collections.Counter(a["type"] for a in activities).keys() == set(KINDS)
    assert all(a["activity-mrr-movement"] < 0 for a in activities if a["type"] in ("contraction", "churn"))
    assert {uuid: mrr.get(uuid, 0) for uuid in customers} == {uuid: c["mrr"] for uuid, c in customers.items()}
    for uuid, customer in customers.items():  # a customer since its first activity; leads have none
        first = next((a for a in activities if a["customer-uuid"] == uuid), None)
        assert customer["customer-since"] == (first["date"] if first else None)
        assert (first is None) == (not coherent["subscriptions"][uuid]) == (customer["status"] == "New Lead")


def test_each_activity_is_one_subscription_s_change_on_a_plan_of_its_customer_s_data_source(coherent):
    """Each activity changes one subscription's MRR by its movement; the subscriptions' MRR and plan at the end are
    what the customer's subscriptions list says."""
    plans, customers = {p["external_id"]: p for p in coherent["plans"]}, {c["uuid"]: c for c in coherent["customers"]}
    mrr, plan = collections.Counter(), {}
    for activity in coherent["activities"]:
        subscription = (activity["customer-uuid"], activity["subscription-external-id"])
        mrr[subscription] += activity["activity-mrr-movement"]
        plan[subscription] = plans[activity["plan-external-id"]]
        assert plan[subscription]["data_source_uuid"] == activity["billing-connector-uuid"] \
            == customers[activity["customer-uuid"]]["data_source_uuid"]
        assert activity["customer-external-id"] == customers[activity["customer-uuid"]]["external_id"]

    listed = {(uuid, s["external_id"]): s for uuid, held in coherent["subscriptions"].items() for s in held}
    assert set(listed) == set(mrr)  # every subscription has activities, every activity a listed subscription
    assert {key: mrr[key] for key in listed} == {key: s["mrr"] for key, s in listed.items()}
    assert {key: plan[key]["name"] for key in listed} == {key: s["plan"] for key, s in listed.items()}
    assert all(s["external_id"] == f"sub_{customers[uuid]['external_id'].removeprefix('acct_')}_{j}"
               for uuid, held in coherent["subscriptions"].items() for j, s in enumerate(held))


@pytest.mark.parametrize("interval", INTERVALS)
def test_given_an_interval_then_each_bucket_holds_the_mrr_and_customers_at_the_end_of_its_last_day_in_the_account_s_time_zone(coherent, interval):
    """mrr: the sum of the movements up to the end of the bucket's last day (Europe/Berlin); customers (metrics and
    customer_count): the customers with MRR > 0 then; arr and arpa from them."""
    activities = coherent["activities"]
    mrr, every, count = (coherent["metrics"][(path, interval)] for path in ("mrr", "all", "customer-count"))

    assert [e["date"] for e in mrr] == [e["date"] for e in every] == [e["date"] for e in count] and mrr[-1]["date"] == "2026-05-07"
    for entry, of_all, of_count in zip(mrr, every, count):
        held = _replay(activities, date.fromisoformat(entry["date"]))
        customers = sum(1 for value in held.values() if value > 0)
        assert entry["mrr"] == of_all["mrr"] == sum(held.values()) and of_all["arr"] == 12 * entry["mrr"]
        assert of_all["customers"] == of_count["customers"] == customers
        assert of_all["arpa"] == (round(entry["mrr"] / customers) if customers else 0)


@pytest.mark.parametrize("interval", INTERVALS)
def test_given_an_interval_then_each_bucket_s_mrr_movements_are_the_sums_of_its_activities_by_type(coherent, interval):
    """The flow columns are the bucket's sums (from the day after the previous entry's date), not its last day's."""
    entries, activities = coherent["metrics"][("mrr", interval)], coherent["activities"]
    opened = FIRST_DAY
    for entry in entries:
        closed = date.fromisoformat(entry["date"])
        inside = [a for a in activities if opened <= _day(a) <= closed]
        assert {column: entry[column] for column in FLOWS.values()} == {
            column: sum(a["activity-mrr-movement"] for a in inside if a["type"] == kind) for kind, column in FLOWS.items()}
        opened = closed + timedelta(days=1)
    assert sum(sum(entry[column] for column in FLOWS.values()) for entry in entries) == entries[-1]["mrr"]


def test_each_month_s_mrr_movements_are_the_sums_of_that_month_s_activities_by_type_in_the_account_s_time_zone(coherent):
    activities = coherent["activities"]
    late = [a for a in activities if _day(a).month != int(a["date"][5:7])]  # e.g. 23:10 UTC on the 31st: the 1st in Berlin

    def by_month(month_of) -> dict:
        sums: dict = collections.defaultdict(lambda: dict.fromkeys(FLOWS.values(), 0))
        for activity in activities:
            sums[month_of(activity)][FLOWS[activity["type"]]] += activity["activity-mrr-movement"]
        return dict(sums)

    served = {e["date"][:7]: {column: e[column] for column in FLOWS.values()} for e in coherent["metrics"][("mrr", "month")]}
    assert late and any(a["date"][8:10] in ("30", "31") and a["date"][11:13] in ("22", "23") for a in late)
    assert served == by_month(lambda a: _day(a).strftime("%Y-%m"))
    assert served != by_month(lambda a: a["date"][:7])  # months in UTC would not do


def test_each_plan_s_mrr_at_each_bucket_is_its_subscriptions_mrr_and_the_plans_add_up_to_the_account(coherent):
    plans = {p["external_id"]: p["name"] for p in coherent["plans"]}
    for interval in ("day", "month"):
        account = coherent["metrics"][("mrr", interval)]
        for at, entry in enumerate(account):
            closed = date.fromisoformat(entry["date"])
            mrr, plan = collections.Counter(), {}
            for activity in coherent["activities"]:
                if _day(activity) <= closed:
                    subscription = (activity["customer-uuid"], activity["subscription-external-id"])
                    mrr[subscription] += activity["activity-mrr-movement"]
                    plan[subscription] = plans[activity["plan-external-id"]]
            each = {name: coherent["by_plan"][(name, interval)][at] for name in PLAN_NAMES}
            assert all(e["date"] == entry["date"] for e in each.values())
            assert {name: e["mrr"] for name, e in each.items()} == {
                name: sum(value for key, value in mrr.items() if plan[key] == name) for name in PLAN_NAMES}
            assert sum(e["mrr"] for e in each.values()) == entry["mrr"]


def test_given_the_entries_per_day_edited_in_place_then_the_buckets_are_made_of_them():
    """A generated account's metrics routes hold its entries per day (what interval=day lists): a test that edits one
    sees the edit in every bucket made of that day (a value changed in ChartMogul, for the loader's tests)."""
    account = Dataset.generate(customers=40, activities=400, metric_days=60, end=date(2026, 5, 7))
    days = account.routes["metrics/mrr"].records
    window = {"start-date": "2026-04-01", "end-date": "2026-05-07", "interval": "month"}

    with SimulatedChartMogul(account, API_KEY) as simulation:
        before = _get(simulation, "metrics/mrr", **window)["entries"]
        days[-1]["mrr"] = 9_876_543
        days[-2]["mrr-expansion"] += 100
        after = _get(simulation, "metrics/mrr", **window)["entries"]

    assert [e["date"] for e in after] == ["2026-04-30", "2026-05-07"] and after[0] == before[0]
    assert after[1] == {**before[1], "mrr": 9_876_543, "mrr-expansion": before[1]["mrr-expansion"] + 100,
                        "percentage-change": round(100 * (9_876_543 - before[0]["mrr"]) / before[0]["mrr"], 2)}
