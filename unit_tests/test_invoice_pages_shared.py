"""invoices, invoice_line_items and invoice_transactions read the same GET /v1/invoices pages: each page is requested
once, whichever of the three a sync selects, and each stream emits exactly the records it emits when read alone.

The first of the selected streams to ask for a page fetches it (through the budget, retries and error handler as any
request); the others take a copy of the accepted answer (components.shared_pages: SharedPagesRequester, PagePool). These
tests read an account of three data sources with three pages of invoices each from the offline fake, and check its
request log; the pool's own rules (a failed page is not shared, the cap on pages held) are checked on the pool.
"""

import collections
import threading
import zlib
from typing import Dict, List, Optional

import pytest
import requests

from source_chartmogul import read_plan
from source_chartmogul.components.shared_pages import HELD_COMPRESSION, PagePool
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config
from testkit.redirect import redirect_chartmogul

# 1,400 invoices over 3 data sources: 3 pages of 200 in each, 9 pages in all.
ACCOUNT = Dataset.generate(customers=700, activities=0, metric_days=60)
INVOICES = ACCOUNT.routes["invoices"].records
THREE = ("invoices", "invoice_line_items", "invoice_transactions")


def read_from_fake(*streams: str, faults: Optional[Dict[str, List[Optional[str]]]] = None):
    with SimulatedChartMogul(ACCOUNT, API_KEY, faults=faults) as fake, redirect_chartmogul(fake.url):
        output = run_cli("read", config(), catalog(*streams))
    return output, fake


def invoice_pages(fake) -> List[tuple]:
    """Every request to /v1/invoices, in order: (data_source_uuid, cursor or None)."""
    return [(query["data_source_uuid"], query.get("cursor")) for _, path, query, _ in fake.stats.log if path == "/v1/invoices"]


def records_by_stream(output) -> Dict[str, List[dict]]:
    records: Dict[str, List[dict]] = collections.defaultdict(list)
    for message in output.records:
        records[message.record.stream].append(message.record.data)
    return records


def alone(stream: str) -> List[dict]:
    """What the stream emits when read by itself (no page shared)."""
    output, _ = read_from_fake(stream)
    assert not output.errors
    return records_by_stream(output)[stream]


def canonical(records: List[dict]) -> List[dict]:
    return sorted(records, key=lambda record: record["uuid"])


def test_given_the_three_streams_selected_when_read_then_each_invoices_page_is_requested_once():
    output, fake = read_from_fake(*THREE)

    assert not output.errors
    pages = invoice_pages(fake)
    assert len(pages) == 9 and len(set(pages)) == 9  # 3 data sources x 3 pages, none twice
    assert {source for source, cursor in pages if cursor is None} == {s["uuid"] for s in ACCOUNT.routes["data_sources"].records}
    assert fake.stats.by_path["invoices"] == 9


def test_given_the_three_streams_selected_when_read_then_each_emits_exactly_what_it_emits_alone():
    output, _ = read_from_fake(*THREE)

    assert not output.errors
    together = records_by_stream(output)
    for stream in THREE:
        assert canonical(together[stream]) == canonical(alone(stream)), stream
    assert len(together["invoices"]) == len(INVOICES) == 1_400
    assert len(together["invoice_line_items"]) == sum(len(invoice["line_items"]) for invoice in INVOICES)
    assert len(together["invoice_transactions"]) == sum(len(invoice["transactions"]) for invoice in INVOICES)
    for stream in THREE:
        assert set(collections.Counter(record["uuid"] for record in together[stream]).values()) == {1}, stream


def test_given_the_three_streams_selected_when_read_then_a_log_line_says_what_was_shared_and_held():
    output, _ = read_from_fake(*THREE)

    summary = [m.log.message for m in output.logs if m.log.message.startswith("Pages shared by")]
    assert len(summary) == 1
    assert summary[0].startswith("Pages shared by invoice_line_items, invoice_transactions, invoices: 9 requested, "
                                 "18 taken from another stream's request, 0 let go before every stream took them "
                                 "(at most 32 MB held); at most ")


@pytest.mark.parametrize("streams", [("invoices",), ("invoice_line_items",), ("invoice_transactions",),
                                     ("invoices", "invoice_line_items"), ("invoice_line_items", "invoice_transactions"),
                                     ("invoices", "invoice_transactions")])
def test_given_one_or_two_of_the_three_selected_when_read_then_every_record_once_and_each_page_once(streams):
    output, fake = read_from_fake(*streams)

    assert not output.errors
    emitted = records_by_stream(output)
    assert set(emitted) == set(streams)
    nested = {"invoices": None, "invoice_line_items": "line_items", "invoice_transactions": "transactions"}
    for stream in streams:
        held = [invoice["uuid"] for invoice in INVOICES] if nested[stream] is None else [
            item["uuid"] for invoice in INVOICES for item in invoice[nested[stream]]]
        assert sorted(record["uuid"] for record in emitted[stream]) == sorted(held), stream
    pages = invoice_pages(fake)
    assert len(pages) == len(set(pages)) == 9


def test_given_a_truncated_page_when_the_three_are_read_then_it_is_fetched_again_not_replayed(retry_sleeps):
    # The second request to /v1/invoices answers a 200 whose JSON body is cut in half.
    output, fake = read_from_fake(*THREE, faults={"invoices": [None, "truncated"]})

    assert fake.faulted == [("invoices", "truncated")]
    assert not output.errors, [e.trace.error.message for e in output.errors]
    pages = invoice_pages(fake)
    assert len(pages) == 10 and len(set(pages)) == 9  # the cut page once more, every other page once
    repeated = [page for page, count in collections.Counter(pages).items() if count == 2]
    assert len(repeated) == 1
    assert retry_sleeps == [3.0]  # one backoff, as for a 5xx
    emitted = records_by_stream(output)
    assert sorted(r["uuid"] for r in emitted["invoices"]) == sorted(invoice["uuid"] for invoice in INVOICES)
    assert sorted(r["uuid"] for r in emitted["invoice_line_items"]) == sorted(
        item["uuid"] for invoice in INVOICES for item in invoice["line_items"])
    assert sorted(r["uuid"] for r in emitted["invoice_transactions"]) == sorted(
        item["uuid"] for invoice in INVOICES for item in invoice["transactions"])


# --- the pool's rules, on the pool -------------------------------------------------------------------------------
def answer(body: bytes = b'{"invoices": [], "has_more": false}', status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content, response.url = status, body, "https://api.chartmogul.com/v1/invoices"
    response.headers["Content-Type"] = "application/json"
    return response


class Fetches:
    """A stand-in for the HTTP requester: counts the fetches of each page and answers a fresh response each time."""

    def __init__(self) -> None:
        self.count: collections.Counter = collections.Counter()

    def of(self, key: str, status: int = 200):
        def fetch() -> requests.Response:
            self.count[key] += 1
            return answer(f'{{"invoices": ["{key}"], "fetch": {self.count[key]}}}'.encode(), status)
        return fetch


def test_given_a_page_taken_by_every_reader_then_the_pool_holds_nothing_and_each_got_its_own_response():
    pool, fetches = PagePool(frozenset(THREE), max_bytes=32_000_000), Fetches()

    responses = [pool.take(stream, "p1", fetches.of("p1")) for stream in THREE]

    assert fetches.count == {"p1": 1}
    assert len({id(response) for response in responses}) == 3
    assert {response.content for response in responses} == {b'{"invoices": ["p1"], "fetch": 1}'}
    assert [response.json() for response in responses] == [{"invoices": ["p1"], "fetch": 1}] * 3
    assert (pool.fetched, pool.shared, pool.dropped) == (1, 2, 0)
    assert pool.summary().endswith("at most 1 pages (0.0 MB compressed) held at once.")
    assert not pool._pages


def test_given_an_answer_the_error_handler_did_not_accept_then_it_is_not_shared_and_the_next_reader_fetches_it():
    pool, fetches = PagePool(frozenset(THREE), max_bytes=32_000_000), Fetches()

    def failing() -> requests.Response:
        fetches.count["p1"] += 1
        raise requests.ConnectionError("the retries are exhausted")

    with pytest.raises(requests.ConnectionError):
        pool.take("invoices", "p1", failing)
    ignored = pool.take("invoice_line_items", "p1", fetches.of("p1", status=404))  # e.g. an IGNOREd answer
    taken = pool.take("invoice_transactions", "p1", fetches.of("p1"))

    assert fetches.count == {"p1": 3} and ignored.status_code == 404 and taken.json()["fetch"] == 3
    assert pool.take("invoices", "p1", fetches.of("p1")).json()["fetch"] == 3  # held for the one that had no answer
    assert fetches.count == {"p1": 3} and not pool._pages


def test_given_a_reader_waiting_for_a_page_in_flight_when_that_fetch_fails_then_the_reader_fetches_it_itself():
    pool, fetches = PagePool(frozenset(THREE[:2]), max_bytes=32_000_000), Fetches()
    started, release, results = threading.Event(), threading.Event(), {}

    def slow_failure() -> requests.Response:
        started.set()
        release.wait(5)
        raise requests.ConnectionError("gave up")

    def leader() -> None:
        try:
            pool.take("invoices", "p1", slow_failure)
        except requests.ConnectionError as exc:
            results["invoices"] = exc

    thread = threading.Thread(target=leader)
    thread.start()
    started.wait(5)
    follower = threading.Thread(target=lambda: results.setdefault("line_items", pool.take("invoice_line_items", "p1", fetches.of("p1"))))
    follower.start()
    release.set()
    thread.join(5)
    follower.join(5)

    assert isinstance(results["invoices"], requests.ConnectionError)
    assert results["line_items"].json() == {"invoices": ["p1"], "fetch": 1}
    assert fetches.count == {"p1": 1}


def test_given_more_pages_than_the_cap_untaken_then_the_oldest_is_let_go_and_its_reader_requests_it_again():
    one_page = len(zlib.compress(b'{"invoices": ["p1"], "fetch": 1}', HELD_COMPRESSION))  # as held: compressed
    pool, fetches = PagePool(frozenset(THREE[:2]), max_bytes=2 * one_page), Fetches()

    for key in ("p1", "p2", "p3"):  # invoices runs three pages ahead of invoice_line_items
        pool.take("invoices", key, fetches.of(key))
    taken = [pool.take("invoice_line_items", key, fetches.of(key)).json()["fetch"] for key in ("p1", "p2", "p3")]

    assert taken == [2, 1, 1]  # p1 was let go (room for 2) and fetched again; p2 and p3 were shared
    assert fetches.count == {"p1": 2, "p2": 1, "p3": 1}
    assert (pool.dropped, pool.peak_pages) == (1, 2)


def test_given_a_reader_asking_for_a_page_it_already_took_then_it_is_requested_again():
    pool, fetches = PagePool(frozenset(THREE), max_bytes=32_000_000), Fetches()

    pool.take("invoices", "p1", fetches.of("p1"))
    again = pool.take("invoices", "p1", fetches.of("p1"))

    assert again.json()["fetch"] == 2 and fetches.count == {"p1": 2}


@pytest.mark.parametrize("streams, threads", [(THREE, 18), (THREE[:2], 15), (("invoice_line_items", "invoice_transactions"), 15),
                                              (("invoices", "customers", "activities"), None), (("customers",), None)])
def test_given_invoice_streams_sharing_pages_then_3_more_threads_for_each_that_waits_for_another_s_requests(streams, threads):
    assert read_plan.workers(catalog(*streams).streams) == ({read_plan.WORKERS: threads} if threads else {})
