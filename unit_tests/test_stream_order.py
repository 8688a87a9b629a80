"""Streams start one at a time in the manifest's order, whatever the catalog's, so the long chains are queued first.

The CDK's threads take partitions first come, first served. Left to itself, it creates several streams' partitions at
once, in catalog order, and activities' 73 date windows, made without a request, were queued before the chains of the
streams that must first list the data sources (invoices, subscription events): those chains then started last and
ended the sync alone. source.py makes the streams create their partitions one after the other, in manifest order; these
tests read the simulated ChartMogul (a real threaded server, so the order of requests is the real one).
"""

from airbyte_cdk.models import AirbyteStreamStatus, SyncMode

from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from source_chartmogul.source import SourceChartmogul
from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config, discovered_schemas

MANIFEST_ORDER = list(discovered_schemas())


def test_the_cdk_still_has_the_two_names_source_py_steers_it_by():
    source = SourceChartmogul(config=config())

    assert source._concurrent_source._initial_number_partitions_to_generate == 1  # one stream creates partitions at a time
    assert SourceChartmogul._select_streams is not SourceChartmogul.__mro__[1]._select_streams


def test_given_a_catalog_in_another_order_when_read_then_streams_start_in_the_manifest_s_order_and_the_data_source_chains_before_the_activity_windows():
    account = Dataset.generate(customers=60, activities=730, metric_days=730)  # 73 windows of 10 days, one page each
    chosen = sorted(name for name in MANIFEST_ORDER if name != "customer_subscriptions")  # alphabetical: activities first
    start = f"{account.routes['metrics/mrr'].records[0]['date']}T00:00:00Z"
    cfg = config(start_date=start, interval="day")
    read_catalog = catalog(*chosen)
    for stream in read_catalog.streams:
        if stream.stream.name == "activities":
            stream.sync_mode = SyncMode.incremental
    # From a state at start_date: 10-day windows (a first sync reads this account in 3 windows: test_activity_windows.py).
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": start}}}]

    with SimulatedChartMogul(account, API_KEY, latency=0.05) as simulation:
        output = run_cli("read", {**cfg, "api_base_url": simulation.url, "lookback_window_days": 0}, read_catalog, state)

    assert not output.errors
    started = [m.trace.stream_status.stream_descriptor.name for m in output.trace_messages
               if m.trace.stream_status and m.trace.stream_status.status == AirbyteStreamStatus.STARTED]
    assert started == [name for name in MANIFEST_ORDER if name in chosen]
    # Every data source chain sends its first request before the 12th activity window's: none waits behind the windows
    # (before, they came after about 60 of the 73).
    order = [path.removeprefix("/v1/") for _, path, _, status in sorted(simulation.stats.log) if status == 200]
    twelfth_window = [i for i, path in enumerate(order) if path == "activities"][11]
    first_invoices = order.index("invoices")
    first_events = order.index("subscription_events")
    assert max(first_invoices, first_events) < twelfth_window, order[:40]
