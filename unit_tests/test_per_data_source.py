"""invoices, their line items and transactions, and subscription_events: one cursor chain per data source, every
record exactly once.

ChartMogul filters both lists by `data_source_uuid`, and each invoice and subscription event belongs to exactly one
data source, so the connector reads GET /v1/data_sources and then one chain per data source, in parallel. These
tests read a several-page account spread over three data sources from the offline fake (which filters by
`data_source_uuid` as ChartMogul does) and check what arrives and what was asked for.
Customers stay one chain: a customer merged from two data sources is listed under each of them
(test_simulation.py), so per-data-source chains would emit it twice.
"""

import collections
from typing import Dict, List

import pytest

from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.redirect import redirect_chartmogul

# 1,400 invoices and 1,500 subscription events over 3 data sources: 3 pages of 200 per data source.
ACCOUNT = Dataset.generate(customers=700, activities=6_000, metric_days=60)
DATA_SOURCES = [source["uuid"] for source in ACCOUNT.routes["data_sources"].records]
PRIMARY_KEYS = {"invoices": "uuid", "subscription_events": "id"}


def read_from_fake(*streams: str):
    with SimulatedChartMogul(ACCOUNT, API_KEY) as fake, redirect_chartmogul(fake.url):
        output = run_cli("read", config(), catalog(*streams))
    return output, fake.stats.log


def requests_to(log, endpoint: str) -> List[Dict[str, str]]:
    return [query for _, path, query, status in log if path == f"/v1/{endpoint}" and status == 200]


@pytest.mark.parametrize("stream", ["invoices", "subscription_events"])
def test_given_records_in_three_data_sources_when_read_then_each_record_arrives_exactly_once(stream):
    output, _ = read_from_fake(stream)

    assert not output.errors
    key = PRIMARY_KEYS[stream]
    emitted = collections.Counter(m.record.data[key] for m in output.records)
    held = [record[key] for record in ACCOUNT.routes[stream].records]
    assert len(held) == len(set(held)) > 3 * 400  # more than two pages in each data source
    assert set(emitted) == set(held)
    assert set(emitted.values()) == {1}
    by_source = collections.Counter(m.record.data["data_source_uuid"] for m in output.records)
    assert set(by_source) == set(DATA_SOURCES) and min(by_source.values()) > 400


# stream: the list of each invoice that the stream's records are
NESTED = {"invoice_line_items": "line_items", "invoice_transactions": "transactions"}


@pytest.mark.parametrize("stream", sorted(NESTED))
def test_given_invoices_in_three_data_sources_when_read_then_each_nested_item_arrives_once_with_its_invoice(stream):
    output, _ = read_from_fake(stream)

    assert not output.errors
    invoices = ACCOUNT.routes["invoices"].records
    held = {item["uuid"]: invoice for invoice in invoices for item in invoice[NESTED[stream]]}
    assert len(held) == sum(len(invoice[NESTED[stream]]) for invoice in invoices) > len(invoices) // 2
    emitted = collections.Counter(m.record.data["uuid"] for m in output.records)
    assert set(emitted) == set(held) and set(emitted.values()) == {1}
    invoice_date = "date" if stream == "invoice_line_items" else "invoice_date"
    for message in output.records:
        record, invoice = message.record.data, held[message.record.data["uuid"]]
        assert (record["invoice_uuid"], record["customer_uuid"], record["currency"], record[invoice_date], record["data_source_uuid"]) == (
            invoice["uuid"], invoice["customer_uuid"], invoice["currency"], invoice["date"], invoice["data_source_uuid"])
    by_source = collections.Counter(m.record.data["data_source_uuid"] for m in output.records)
    assert set(by_source) == set(DATA_SOURCES)


@pytest.mark.parametrize("stream", ["invoices", "subscription_events", *sorted(NESTED)])
def test_given_three_data_sources_when_read_then_lists_them_once_and_pages_each_filtered_by_its_uuid(stream):
    output, log = read_from_fake(stream)

    assert not output.errors
    assert len(requests_to(log, "data_sources")) == 1
    sent = requests_to(log, "invoices" if stream in NESTED else stream)
    assert all(query.get("data_source_uuid") in DATA_SOURCES and query["per_page"] == "200" for query in sent)
    chains = collections.defaultdict(list)
    for query in sent:
        chains[query["data_source_uuid"]].append(query.get("cursor"))
    assert set(chains) == set(DATA_SOURCES)
    for cursors in chains.values():  # each chain: a first page without cursor, then each cursor once
        assert cursors.count(None) == 1 and len(cursors) >= 3 and len(set(cursors)) == len(cursors)


def test_given_a_customer_merged_from_two_data_sources_when_read_then_customers_is_one_chain_listing_it_once():
    merged = [c for c in ACCOUNT.routes["customers"].records if len(c["data_source_uuids"]) == 2]
    output, log = read_from_fake("customers")

    assert not output.errors and merged
    emitted = collections.Counter(m.record.data["uuid"] for m in output.records)
    assert all(emitted[customer["uuid"]] == 1 for customer in merged)
    assert len(emitted) == len(ACCOUNT.routes["customers"].records) and set(emitted.values()) == {1}
    assert all("data_source_uuid" not in query for query in requests_to(log, "customers"))
