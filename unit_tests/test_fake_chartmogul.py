"""The offline fake's large-account mode, which the benchmark relies on: lazy records and binary-searched dates; and
its per-customer and one-object routes."""

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from unit_tests.builders import API_KEY, basic_auth_header
from unit_tests.fake_chartmogul import Dataset, Endpoint, FakeChartMogul, Route


def _get(fake: FakeChartMogul, path: str, **params: str) -> dict:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    request = Request(f"{fake.url}/v1/{path}?{query}", headers={"Authorization": basic_auth_header()})
    with urlopen(request) as response:
        return json.loads(response.read())


def _all_pages(fake: FakeChartMogul, path: str, **params: str) -> list:
    records, cursor = [], None
    while True:
        body = _get(fake, path, per_page="200", **params, **({"cursor": cursor} if cursor else {}))
        records += body["entries"]
        if not body["has_more"]:
            return records
        cursor = body["cursor"]


def test_given_a_lazy_account_when_a_date_window_is_paged_then_it_returns_what_a_full_scan_of_the_records_returns():
    lazy = Dataset.generate(customers=50, activities=3_000, metric_days=30, lazy=True)
    records = list(lazy.routes["activities"].records)
    eager_copy = Dataset({"activities": Route("dated", records)})  # not ordered: the server scans every record
    window = {"start-date": records[1000]["date"].replace("+00:00", "Z"), "end-date": "2026-10-20T23:59:59Z"}

    with FakeChartMogul(lazy, API_KEY) as searched, FakeChartMogul(eager_copy, API_KEY) as scanned:
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

    with FakeChartMogul(Dataset.from_records(rows, endpoints), API_KEY) as fake:
        assert _all_pages(fake, "customers/cus_a/subscriptions") == [{"uuid": "sub_1"}, {"uuid": "sub_2"}]
        assert _all_pages(fake, "customers/cus_b/subscriptions") == []  # a customer without subscriptions
        assert _get(fake, "account") == {"name": "Rocket Analytics", "currency": "EUR"}  # one object, no envelope
        with pytest.raises(HTTPError) as unknown:  # a customer ChartMogul does not have
            _get(fake, "customers/cus_gone/subscriptions")
        assert unknown.value.code == 404

    orphan = [{"stream": "customer_subscriptions", "data": {"uuid": "sub_9", "customer_uuid": "cus_gone"}}]
    with pytest.raises(KeyError, match="customer_uuid is no customers row's uuid"):
        Dataset.from_records(rows + orphan, endpoints)
