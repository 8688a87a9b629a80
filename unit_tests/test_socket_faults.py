"""Faults below HTTP, over real sockets: a sync never hangs and never ends "successfully" with records missing.

The CDK's HTTP mock sits above the socket, so these tests run the connector's entrypoint against the offline fake
(a real server on 127.0.0.1) that breaks one answer the way a load balancer, a proxy or a network does. Each ends
with every record exactly once, or with an error that says what happened. The shipped read timeout is 60 s; the
tests lower it to 2 s (in the manifest they load, not in the config: the CDK's timeout fields take no
interpolation) so that they finish in seconds. Backoff waits are recorded, not slept (conftest.retry_sleeps).
"""

import collections
import time

import pytest

from source_chartmogul.source import SourceChartmogul
from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.redirect import redirect_chartmogul

READ_TIMEOUT = 2.0
CUSTOMERS = 600  # three pages of 200: the fault hits the second one, in the middle of the cursor chain


@pytest.fixture(autouse=True)
def short_read_timeout(monkeypatch):
    """The packaged manifest with a 2 s read timeout instead of 60 s."""
    load = SourceChartmogul._read_and_parse_yaml_file

    def with_short_timeout(self, path):  # type: ignore[no-untyped-def]
        manifest = load(self, path)
        assert manifest["definitions"]["requester"]["read_timeout_in_seconds"] == 60
        manifest["definitions"]["requester"]["read_timeout_in_seconds"] = READ_TIMEOUT
        return manifest

    monkeypatch.setattr(SourceChartmogul, "_read_and_parse_yaml_file", with_short_timeout)


def read_customers(faults, **settings):
    dataset = Dataset.generate(customers=CUSTOMERS, activities=0)
    started = time.monotonic()
    with SimulatedChartMogul(dataset, API_KEY, faults={"customers": faults}) as fake, redirect_chartmogul(fake.url):
        output = run_cli("read", config(**settings), catalog("customers"))
    return output, fake, dataset, time.monotonic() - started


def assert_every_customer_once(output, dataset):
    assert not output.errors, [e.trace.error.message for e in output.errors]
    emitted = collections.Counter(m.record.data["uuid"] for m in output.records)
    assert set(emitted) == {c["uuid"] for c in dataset.routes["customers"].records}
    assert set(emitted.values()) == {1}


@pytest.mark.parametrize("fault", ["stall", "trickle", "reset", "truncated", "html"])
def test_given_one_broken_answer_in_the_middle_of_a_chain_when_read_then_the_retry_gets_every_record_once(fault, retry_sleeps):
    output, fake, dataset, seconds = read_customers([None, fault])

    assert fake.faulted == [("customers", fault)]
    assert_every_customer_once(output, dataset)
    assert fake.stats.by_path["customers"] == 4  # 3 pages + the one retry
    assert retry_sleeps == [3.0]  # one backoff, like a 5xx
    assert seconds < 15  # a stall or trickle costs one read timeout, not a hang


@pytest.mark.parametrize("fault, says", [
    ("stall", "ReadTimeout: HTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out. (read timeout=2.0)"),
    ("truncated", "ChartMogul's answer from {url}/v1/customers is not the expected JSON list (no 'entries' key), even after retries."),
    ("html", "ChartMogul's answer from {url}/v1/customers is not the expected JSON list (no 'entries' key), even after retries."),
    ("reset", "ChunkedEncodingError"),
])
def test_given_a_fault_on_every_attempt_when_read_then_the_stream_fails_saying_what_happened(fault, says, retry_sleeps):
    output, fake, _, _ = read_customers([fault] * 3, max_retries=2)  # 2 retries instead of 8: 3 stalls, not 9

    assert len(fake.faulted) == 3 and retry_sleeps == [3.0, 5.0]
    assert output.records == []  # never a "successful" empty stream
    failures = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert [f.stream_descriptor.name for f in failures] == ["customers"]
    assert failures[0].message.startswith("Exhausted available request attempts.")
    assert says.format(port=fake.url.rsplit(":", 1)[1], url=fake.url) in failures[0].message
    assert API_KEY not in output.raw


def test_given_unreachable_host_when_check_then_fails_after_three_retries_naming_host_and_cause(retry_sleeps):
    with SimulatedChartMogul(Dataset.generate(customers=1, activities=0), API_KEY) as fake:
        closed_port = fake.url  # nothing listens there once the fake has stopped
    with redirect_chartmogul(closed_port):
        output = run_cli("check", config())

    status = output.connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED"
    # (the CDK quotes the error with repr(): quotes inside it are escaped)
    assert f"HTTPConnectionPool(host=\\'127.0.0.1\\', port={closed_port.rsplit(':', 1)[1]})" in status.message
    assert "Failed to establish a new connection: [Errno 111] Connection refused" in status.message
    assert retry_sleeps == [3.0, 5.0, 9.0]  # check's 3 retries (config_overrides), not a read's 8: ~17 s in all
    assert API_KEY not in output.raw


def test_given_unresolvable_host_when_check_then_message_says_the_name_could_not_be_resolved(retry_sleeps):
    with redirect_chartmogul("http://api.chartmogul.invalid"):
        output = run_cli("check", config())

    status = output.connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED"
    assert "api.chartmogul.invalid" in status.message and "NameResolutionError" in status.message
    assert retry_sleeps == [3.0, 5.0, 9.0]
    assert API_KEY not in output.raw
