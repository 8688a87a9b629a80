"""Concurrency inside ChartMogul's limits: 40 requests/s and 20 parallel connections per account (429 / 503 beyond).

These tests run the connector against the offline fake, a real threaded HTTP server on 127.0.0.1 that enforces the
limits like ChartMogul: the CDK's HTTP mock serialises every request behind one lock, so it cannot show concurrency.
The api_budget blocks in real time (up to a second per 429), so the accounts here are kept small.
"""

import collections
from datetime import datetime, timedelta, timezone
from typing import Union

from airbyte_cdk.models import SyncMode

from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config
from source_chartmogul.simulation import Dataset, SimulatedChartMogul, SimulationProcess
from source_chartmogul.simulation.server import Stats
from testkit.redirect import redirect_chartmogul

MANIFEST_CONCURRENCY = 12  # concurrency_level.default_concurrency
TODAY = datetime.now(timezone.utc).date()


def account(days: int, customers: int = 600, activities: int = 3_000) -> Dataset:
    """An account whose activities span the last `days` days (so `days / 10` activity windows up to now)."""
    return Dataset.generate(customers=customers, activities=activities, metric_days=days, end=TODAY)


def sync(fake: Union[SimulatedChartMogul, SimulationProcess], days: int):
    """customers, customer_count and activities, activities incremental from a state at start_date: 10-day windows
    (a first sync would read the account's activities in fewer, fuller windows; test_activity_windows.py)."""
    start = (TODAY - timedelta(days=days)).strftime("%Y-%m-%dT00:00:00Z")
    cfg = config(start_date=start, lookback_window_days=0, interval="day")  # one metrics entry per day
    streams = catalog("customers", "activities", "customer_count")
    for stream in streams.streams:
        if stream.stream.name == "activities":
            stream.sync_mode = SyncMode.incremental
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": start}}}]
    with redirect_chartmogul(fake.url):
        return run_cli("read", cfg, streams, state)


def busiest_second(stats: Stats) -> int:
    """The most requests the simulation received within any one second."""
    times, busiest, first = sorted(t for t, *_ in stats.log), 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def assert_every_record_once(output, dataset: Dataset) -> None:
    emitted = collections.Counter((m.record.stream, m.record.data.get("uuid") or m.record.data["date"]) for m in output.records)
    expected = {("customers", c["uuid"]) for c in dataset.routes["customers"].records}
    expected |= {("activities", a["uuid"]) for a in dataset.routes["activities"].records}
    expected |= {("customer_count", c["date"]) for c in dataset.routes["metrics/customer-count"].records}
    assert set(emitted) == expected
    assert set(emitted.values()) == {1}, [key for key, n in emitted.items() if n > 1][:5]


def test_given_instant_responses_when_read_then_budget_keeps_requests_under_40_per_second_and_no_429():
    """The simulation runs in a process of its own here: in this one, its threads would wait for the interpreter lock
    while the connector holds it, and count requests as arriving late, in bunches (the budget's margin is 100 ms)."""
    generated = {"customers": 600, "activities": 3_000, "metric_days": 420, "end": TODAY}
    with SimulationProcess(generated, API_KEY, rate_limit=40, max_connections=20) as fake:
        output = sync(fake, days=420)  # 42 activity windows + 3 customer pages + 1 metric request: 46 requests
        stats = fake.stats()

    assert not output.errors
    assert_every_record_once(output, Dataset.generate(**generated))
    # More than a second's worth of requests at zero latency: without the budget they would all arrive within a
    # fraction of a second and the simulation (40/s, like ChartMogul) would answer 429s.
    assert stats.requests > 40
    assert stats.by_status.get(429, 0) == 0 and stats.by_status.get(503, 0) == 0
    assert busiest_second(stats) <= 40
    arrivals = sorted(t for t, *_ in stats.log)
    assert arrivals[-1] - arrivals[0] >= 0.9  # spread over more than one window of the budget


def test_given_slow_responses_when_read_then_at_most_12_requests_are_in_flight_and_windows_run_in_parallel():
    dataset = account(days=364, activities=1_500)  # 26 windows, each one page
    with SimulatedChartMogul(dataset, API_KEY, latency=0.15, rate_limit=40, max_connections=20) as fake:
        output = sync(fake, days=364)

    assert not output.errors
    assert_every_record_once(output, dataset)
    assert 6 <= fake.stats.max_in_flight <= MANIFEST_CONCURRENCY < 20
    assert fake.stats.by_status.get(503, 0) == 0 and fake.stats.by_status.get(429, 0) == 0


def test_given_bursts_of_429_and_503_when_read_then_retries_honour_retry_after_and_every_record_arrives_once(retry_sleeps):
    dataset = account(days=140)
    bursts = [(3, 429, 4), (12, 503, 3), (20, 429, 3)]  # after the 3rd request, the next 4 get 429; ...
    with SimulatedChartMogul(dataset, API_KEY, retry_after="6", bursts=bursts) as fake:
        output = sync(fake, days=140)

    assert not output.errors
    assert_every_record_once(output, dataset)
    assert fake.stats.by_status[429] == 7 and fake.stats.by_status[503] == 3
    # Each 429 waits Retry-After plus the CDK's one second; a 503 (no header) backs off exponentially: 3, 5, 9 s.
    assert retry_sleeps.count(7.0) == 7
    assert len(retry_sleeps) == 10 and set(retry_sleeps) - {7.0} <= {3.0, 5.0, 9.0}
