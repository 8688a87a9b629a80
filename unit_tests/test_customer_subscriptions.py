"""customer_subscriptions: GET /v1/customers/{uuid}/subscriptions for every customer the customers list returns, one
cursor chain per customer, records under `entries`, primary key `uuid`, with the customer's uuid added (ChartMogul's
answer lacks it). A customer deleted between the customers page and its subscriptions request (404) is skipped."""

import collections
import json
from pathlib import Path

import yaml
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver
from airbyte_cdk.test.mock_http import HttpResponse

from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import (
    api_request, assert_records_match_schema, config, entries, error, mock_cursor_pages, numbered, page, read,
    sent_requests, template,
)
from source_chartmogul.simulation import Dataset, SimulatedChartMogul, Route
from testkit.redirect import redirect_chartmogul

MANIFEST = Path(__file__).resolve().parents[1] / "source_chartmogul" / "manifest.yaml"
FIRST_PAGE = {"per_page": "200"}
ACME = entries("customers")[0]
CUSTOMERS = [numbered(ACME, n) for n in (1, 2, 3)]  # several subscriptions (3 pages), one, none
SUBSCRIPTION = entries("customer_subscriptions")[0]


def subscriptions_of(customer: dict) -> str:
    return f"customers/{customer['uuid']}/subscriptions"


def test_given_one_customer_when_read_then_emits_its_subscriptions_with_the_customer_uuid_added(http_mocker):
    http_mocker.get(api_request("customers", FIRST_PAGE), page([ACME]))
    http_mocker.get(api_request(subscriptions_of(ACME), FIRST_PAGE), HttpResponse(json.dumps(template("customer_subscriptions"))))

    output = read("customer_subscriptions")

    assert not output.errors
    seats, addon = [m.record.data for m in output.records]
    assert seats == {**SUBSCRIPTION, "customer_uuid": ACME["uuid"]}
    assert (seats["plan"], seats["quantity"], seats["mrr"], seats["arr"]) == ("Pro monthly (per seat)", 15, 37375, 448500)
    assert (seats["billing-cycle"], seats["billing-cycle-count"], seats["start-date"]) == ("month", 1, "2024-02-01T00:00:00+00:00")
    assert addon["customer_uuid"] == ACME["uuid"] and addon["status"] == "inactive"
    assert addon.get("subscription_set_external_id") is None and addon["billing-cycle-count"] == 3
    assert sent_requests(http_mocker) == [("customers", FIRST_PAGE), (subscriptions_of(ACME), FIRST_PAGE)]
    assert_records_match_schema(output)


def test_given_customers_with_several_one_and_no_subscriptions_when_read_then_follows_each_customers_cursors_once(http_mocker):
    http_mocker.get(api_request("customers", FIRST_PAGE), page(CUSTOMERS))
    several = [[numbered(SUBSCRIPTION, 11), numbered(SUBSCRIPTION, 12)], [numbered(SUBSCRIPTION, 13)], [numbered(SUBSCRIPTION, 14)]]
    expected = [("customers", FIRST_PAGE)]
    expected += mock_cursor_pages(http_mocker, subscriptions_of(CUSTOMERS[0]), several)
    expected += mock_cursor_pages(http_mocker, subscriptions_of(CUSTOMERS[1]), [[numbered(SUBSCRIPTION, 21)]])
    expected += mock_cursor_pages(http_mocker, subscriptions_of(CUSTOMERS[2]), [[]])

    output = read("customer_subscriptions")

    assert not output.errors
    owners = {m.record.data["uuid"]: m.record.data["customer_uuid"] for m in output.records}
    assert len(owners) == len(output.records) == 5  # every subscription exactly once
    assert owners == {**{s["uuid"]: CUSTOMERS[0]["uuid"] for p in several for s in p}, numbered(SUBSCRIPTION, 21)["uuid"]: CUSTOMERS[1]["uuid"]}
    # Customers are read in parallel, so only each customer's own chain is in order; nothing is asked twice.
    sent = sent_requests(http_mocker)
    assert sorted(sent, key=str) == sorted(expected, key=str)
    assert [q for p, q in sent if p == subscriptions_of(CUSTOMERS[0])] == [q for p, q in expected if p == subscriptions_of(CUSTOMERS[0])]
    assert_records_match_schema(output)


def test_given_a_customer_deleted_during_the_sync_when_its_subscriptions_answer_404_then_only_that_customer_is_skipped(http_mocker, retry_sleeps):
    deleted = CUSTOMERS[1]
    http_mocker.get(api_request("customers", FIRST_PAGE), page(CUSTOMERS))
    http_mocker.get(api_request(subscriptions_of(CUSTOMERS[0]), FIRST_PAGE), page([numbered(SUBSCRIPTION, 1)]))
    http_mocker.get(api_request(subscriptions_of(deleted), FIRST_PAGE),
                    error(404, {"code": 404, "message": f"Customer {deleted['uuid']} not found", "param": None}))
    http_mocker.get(api_request(subscriptions_of(CUSTOMERS[2]), FIRST_PAGE), page([numbered(SUBSCRIPTION, 3)]))

    output = read("customer_subscriptions")

    assert not output.errors and retry_sleeps == []  # neither failed nor retried
    assert sorted(m.record.data["customer_uuid"] for m in output.records) == [CUSTOMERS[0]["uuid"], CUSTOMERS[2]["uuid"]]
    assert output.get_stream_statuses("customer_subscriptions")[-1].name == "COMPLETE"
    skipped = [m.log.message for m in output.logs if "Skipped the subscriptions" in m.log.message]
    assert skipped == [
        f"Skipped the subscriptions of a customer ChartMogul no longer has (https://api.chartmogul.com/v1/{subscriptions_of(deleted)} "
        "answered 404: the customer was deleted or merged during the sync). The other customers' subscriptions are read as usual."]


def test_given_the_customers_list_answers_404_when_read_then_the_stream_fails_as_every_other_404(http_mocker, retry_sleeps):
    """Only the per-customer requests skip a 404: the customers list itself is read with the shared error handler."""
    http_mocker.get(api_request("customers", FIRST_PAGE), error(404, {"code": 404, "message": "Not Found", "param": None}))

    output = read("customer_subscriptions")

    assert output.records == []
    (failure,) = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert failure.message.startswith("ChartMogul has no https://api.chartmogul.com/v1/customers for this account (404: Not Found).")


def test_given_customers_and_their_subscriptions_selected_when_read_concurrently_then_every_record_arrives_once_and_limits_hold():
    """Against the threaded fake, with ChartMogul's limits and answers as slow as ChartMogul's: customers and
    customer_subscriptions each read the customers list (the CDK's HTTP cache, which would share it, is off: it would
    replay a broken page to the retry; here the first customers page arrives truncated once); every subscription
    arrives once; one customer deleted mid-sync (404) is skipped. (At 350 ms an answer, 12 threads send at most 36
    requests in a second: the count of 429s does not depend on how loaded the test machine is; the budget's own margin
    is tested in test_rate_limits.py.)"""
    dataset = Dataset.generate(customers=230, activities=0, metric_days=1)  # 2 pages of customers
    customers = dataset.routes["customers"].records
    dataset.routes.patterns = []  # serve only the subscription routes set here, not the generated account's
    for i, customer in enumerate(customers):
        dataset.routes[subscriptions_of(customer)] = Route("list", [numbered(SUBSCRIPTION, 100 * i + k) for k in range(i % 3)])
    del dataset.routes[subscriptions_of(customers[7])]  # deleted after the customers page listed it: 404

    with SimulatedChartMogul(dataset, API_KEY, latency=0.35, rate_limit=40, max_connections=20,
                        faults={"customers": ["truncated"]}) as fake, redirect_chartmogul(fake.url):
        output = run_cli("read", config(), catalog("customers", "customer_subscriptions"))

    assert not output.errors
    assert fake.faulted == [("customers", "truncated")]
    assert fake.stats.by_path["customers"] == 2 + 2 + 1  # two pages for each stream, and the retry of the broken one
    assert sum(n for path, n in fake.stats.by_path.items() if path.endswith("/subscriptions")) == 230
    assert fake.stats.by_status.get(429, 0) == 0 and fake.stats.by_status.get(503, 0) == 0
    assert fake.stats.by_status[404] == 1 and fake.stats.max_in_flight <= 12
    emitted = collections.Counter(m.record.data["uuid"] for m in output.records if m.record.stream == "customer_subscriptions")
    expected = {numbered(SUBSCRIPTION, 100 * i + k)["uuid"] for i in range(230) if i != 7 for k in range(i % 3)}
    assert set(emitted) == expected and set(emitted.values()) == {1}
    assert len([m for m in output.records if m.record.stream == "customers"]) == 230


def test_the_subscriptions_error_handler_is_the_shared_one_with_only_the_404_skip_put_first():
    """The manifest lists the shared filters one by one after the 404 skip: none may be missing or out of order."""
    manifest = ManifestReferenceResolver().preprocess_manifest(yaml.safe_load(MANIFEST.read_text()))["definitions"]
    shared, own = manifest["error_handler"], manifest["subscriptions_error_handler"]
    skip, *rest = own["response_filters"]
    assert rest == shared["response_filters"]
    assert (skip["http_codes"], skip["action"]) == ([404], "IGNORE")
    assert {k: v for k, v in own.items() if k != "response_filters"} == {k: v for k, v in shared.items() if k != "response_filters"}
