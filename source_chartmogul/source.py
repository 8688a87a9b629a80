"""Thin entrypoint: hands the packaged manifest to the CDK's declarative runtime.

Four things change how fast the CDK runs it, none what it reads: streams start in the manifest's order
(`SourceChartmogul`), some of the CDK's costs per page and per record are cut (`cdk_speedups`), the invoice streams
a sync selects share their pages (`components.shared_pages`), and activities' windows are planned from one request
(`read_plan`).

The CDK reads config, catalog and state only from the source's constructor, so `run()` parses the
command line first and builds the source with them (as the CDK's own manifest runner does).
"""

import collections
import contextlib
import logging
import os
import re
import signal
import sys
import threading
from typing import Any, Iterator, List, Mapping, Optional
from urllib.parse import urlsplit

import requests

from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER
from airbyte_cdk.models import AirbyteMessage, AirbyteStateMessage, ConfiguredAirbyteCatalog, ConnectorSpecification, FailureType, SyncMode
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.streams.concurrent.abstract_stream import AbstractStream
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from source_chartmogul import cdk_speedups, read_plan
from source_chartmogul.components.shared_pages import PageSharing
from source_chartmogul.hooks import Hook
from source_chartmogul.interruption import Interruption

cdk_speedups.install()  # CDK costs per page and per record, cut without changing a value (see the module)


# The CDK code each of SourceChartmogul's two hooks was tested against (airbyte-cdk 7.39.1; source_chartmogul.hooks).
ONE_STREAM_AT_A_TIME = Hook("streams create their partitions one at a time", (
    ("airbyte_cdk.sources.concurrent_source.concurrent_source:ConcurrentSource.read",
     "864c87859b4e02c8abeaaa36740169b6e544599d7ca7d52711ed2a84cc18cece"),
    ("airbyte_cdk.sources.concurrent_source.concurrent_source:ConcurrentSource._submit_initial_partition_generators",
     "18d127b1b0500642247efb5d4cb5ddbeb99731a189ed081532233f6f9a484748"),
))
MANIFEST_ORDER = Hook("streams start in the manifest's order", (
    ("airbyte_cdk.sources.declarative.concurrent_declarative_source:ConcurrentDeclarativeSource._select_streams",
     "d2d1e73916cd95c34dd3db3d7e82a4e1233e0a5b097baf8356886c9e23568796"),
))
HOOKS = (ONE_STREAM_AT_A_TIME, MANIFEST_ORDER)


class SourceChartmogul(YamlDeclarativeSource):
    """The manifest, run by the CDK's concurrent runtime, with its streams started one at a time in manifest order.

    The CDK's threads take partitions first come, first served, and up to half of them create partitions at once, in
    the catalog's order. A stream read one chain per data source (invoices, subscription events) needs a data_sources
    request before its partitions exist; activities creates its 73 date windows at once. So the windows were queued
    first and the data source chains, the longest, started only after them and ended the sync alone (measured: 33-35 s
    into an 11-stream sync). No manifest setting steers this (docs/performance.md). Here the streams create their
    partitions one after the other, in the manifest's order, whatever the catalog's: every stream's chains are queued
    before those of the streams after it, which the manifest orders so that the long chains come first.
    Two private names of airbyte-cdk 7.39 (`_concurrent_source._initial_number_partitions_to_generate`, the cap on
    streams creating partitions at once, and `_select_streams`), each used only when the CDK code around it is the code
    it was tested against (`HOOKS`; otherwise skipped with a log line, and the CDK orders the streams itself:
    unit_tests/test_hooks.py). The Connector Builder reads one stream at a time and is not concerned.
    """

    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[AirbyteStateMessage]] = None,
        **kwargs: Any,
    ) -> None:
        if config is not None:  # keys the connector sets for itself (activity windows, threads), never a user's
            config = {key: value for key, value in config.items() if key not in read_plan.CONNECTOR_KEYS}
            if catalog is not None:
                config.update(self._activity_windows(config, catalog, state))
                config.update(read_plan.workers(catalog.streams))
        super().__init__(path_to_yaml="manifest.yaml", catalog=catalog, config=config, state=state, **kwargs)
        concurrent_source = getattr(self, "_concurrent_source", None)
        if hasattr(concurrent_source, "_initial_number_partitions_to_generate") and ONE_STREAM_AT_A_TIME.applies():
            concurrent_source._initial_number_partitions_to_generate = 1  # type: ignore[union-attr]

    @staticmethod
    def _activity_windows(config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog,
                          state: Optional[List[AirbyteStateMessage]]) -> Mapping[str, str]:
        """For a read that selects activities: where its windows start and how long they are
        (read_plan.plan_activity_windows; one request, made here because the manifest's cursor takes both from the
        config when the streams are built)."""
        modes = {configured.stream.name: configured.sync_mode for configured in catalog.streams}
        if "activities" not in modes:
            return {}
        try:
            saved = any(message.stream and message.stream.stream_descriptor.name == "activities" and message.stream.stream_state
                        for message in state or [])
        except AttributeError:  # a state in another shape: keep the windows that read from it
            saved = True
        return read_plan.plan_activity_windows(config, incremental_from_state=saved and modes["activities"] == SyncMode.incremental)

    def read(self, logger: logging.Logger, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog,
             state: Optional[List[AirbyteStateMessage]] = None) -> Iterator[AirbyteMessage]:
        """The CDK's read, with the streams the catalog selects told to each other: invoices, invoice_line_items and
        invoice_transactions then request each page once between them (components.shared_pages.SharedPagesRequester);
        at the end, a log line says what was shared and how much was held."""
        with PageSharing(configured.stream.name for configured in catalog.streams) as sharing:
            yield from super().read(logger, config, catalog, state)
        for pool in sharing.pools.values():
            logger.info(pool.summary())
        if REQUESTS_SENT.active:
            logger.info(REQUESTS_SENT.line())

    def _select_streams(self, streams: List[AbstractStream], configured_catalog: ConfiguredAirbyteCatalog) -> List[AbstractStream]:
        """The catalog's streams in the manifest's order (`streams` is in manifest order)."""
        if not MANIFEST_ORDER.applies():
            return super()._select_streams(streams, configured_catalog)
        position = {stream.name: index for index, stream in enumerate(streams)}
        return sorted(super()._select_streams(streams, configured_catalog), key=lambda stream: position[stream.name])


class ChartmogulEntrypoint(AirbyteEntrypoint):
    """The CDK entrypoint, with config errors that name the field and show a valid value.

    The CDK reports only jsonschema's bare message ("'2017/01/25' does not match '^[0-9]{4}...'"), which
    does not say which setting is wrong; the spec already holds the field titles and examples to say so.
    """

    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Mapping[str, Any]) -> None:
        connector_config, _ = split_config(config)
        schema = source_spec.connectionSpecification
        error = best_match(Draft7Validator(schema).iter_errors(connector_config))
        if error is None:
            return
        if error.validator == "required":
            field = error.message.split("'")[1]
        else:
            field = str(error.path[0]) if error.path else ""
        prop = schema.get("properties", {}).get(field, {})
        title = prop.get("title", field)
        if error.validator == "required":
            problem = "is missing"
        elif prop.get("airbyte_secret"):  # never echo the secret itself
            problem = "is not valid"
        elif error.validator == "pattern":
            problem = f"is not valid: {error.instance!r} is not in the format {prop.get('pattern_descriptor', error.validator_value)}"
        else:
            problem = f"is not valid: {error.message}"
        hint = ""
        if prop.get("enum"):
            hint = f" Use one of: {', '.join(prop['enum'])}."
        elif prop.get("examples"):
            hint = f" A valid value looks like {prop['examples'][0]}."
        elif prop.get("minLength"):
            hint = f" It must be at least {prop['minLength']} characters long."
        raise AirbyteTracedException(
            message=f"Config error: '{title}' ({field}) {problem}.{hint}",
            internal_message=f"config field {field}: {error.validator} failed",
            failure_type=FailureType.config_error,
        )


def _build_source(args: List[str]) -> SourceChartmogul:
    config_path = AirbyteEntrypoint.extract_config(args)
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    return SourceChartmogul(
        config=SourceChartmogul.read_config(config_path) if config_path else None,
        catalog=SourceChartmogul.read_catalog(catalog_path) if catalog_path else None,
        state=SourceChartmogul.read_state(state_path) if state_path else None,
        config_path=config_path,
    )


def run(args: Optional[List[str]] = None) -> None:
    """Console script `source-chartmogul`: spec | check | discover | read, as every Airbyte source.

    Stopped (Ctrl-C's SIGINT, or SIGTERM: PyAirbyte's and the platform's way to stop a connector), it stops at once:
    the CDK's temporary folder, which holds a copy of the config and so the API key, is removed, and the process ends
    by the same signal, as it would have without this (exit status -2 or -15). Measured before this, on a 120-customer
    simulated account (docs/performance.md, "Stopping a load"): SIGTERM left that folder, config.json and key included, behind
    4 times out of 4; after SIGINT the CDK's worker threads went on sending 17 to 110 more requests for 0.8 to 3.3 s.
    Now: no folder left, and 0 to 5 requests (those already on their way) and 0.01 to 0.03 s.
    """
    args = sys.argv[1:] if args is None else args
    messages = None
    # A second signal during the clean-up is only counted, so the folder is still removed.
    with STOPPED.handling(), REQUESTS_SENT.counting():
        try:
            source = _build_source(args)
            entrypoint = ChartmogulEntrypoint(source)
            messages = entrypoint.run(entrypoint.parse_args(args))
            with PRINT_BUFFER:  # as the CDK's launch(): one write per message, safe with concurrent streams
                try:
                    for message in messages:
                        # The CDK masks secrets in logs but not in a failed stream's TRACE (whose internal message
                        # quotes the response): mask every line, so the key never leaves the process even if
                        # ChartMogul echoes it.
                        print(f"{filter_secrets(message)}\n", end="")
                except KeyboardInterrupt:
                    # Inside the print buffer, so that nothing is flushed: whoever stopped the connector may no longer
                    # read its output, and a write to a full pipe would hang (measured: PyAirbyte then waited 10 s
                    # and killed it).
                    _stop(messages)
        except KeyboardInterrupt:
            _stop(messages)


def _stop(messages: Optional[Iterator[str]]) -> None:
    if messages is not None:
        messages.close()  # leaves the CDK's `with TemporaryDirectory()`, which removes the folder
    if not STOPPED.received:
        raise KeyboardInterrupt  # not a signal of ours (a test's, or a caller's own handler): as before
    signal.signal(STOPPED.received[0], signal.SIG_DFL)
    os.kill(os.getpid(), STOPPED.received[0])  # end now, by that signal: the CDK's worker threads would read on


class RequestsSent:
    """The HTTP requests the connector sends while `counting()` (its `run`), by endpoint, for the line that ends a read:
    `Requests sent to ChartMogul: 1,726 (activities 1,015, invoices 201, ...)`. Every request of the connector goes
    through `requests.Session.send` (the CDK's HTTP client and the activity windows' one request alike), counted
    after the request budget let it go, retries included; `source-chartmogul-duckdb` shows the line in its summary."""

    def __init__(self) -> None:
        self.by_endpoint: "collections.Counter[str]" = collections.Counter()
        self.active = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        original = requests.Session.send
        self.by_endpoint.clear()

        def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            endpoint = _ID_SEGMENT.sub("/*", urlsplit(request.url or "").path.removeprefix("/v1/"))
            with self._lock:
                self.by_endpoint[endpoint] += 1
            return original(session, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]
        self.active = True
        try:
            yield
        finally:
            requests.Session.send = original  # type: ignore[method-assign]
            self.active = False

    def line(self) -> str:
        with self._lock:
            counts = self.by_endpoint.most_common()
        total = sum(n for _, n in counts)
        return f"Requests sent to ChartMogul: {total:,} (" + ", ".join(f"{endpoint} {n:,}" for endpoint, n in counts) + ")"


_ID_SEGMENT = re.compile(r"/[^/]*[0-9][^/]*")  # a path segment holding an id (customers/cus_.../subscriptions)
REQUESTS_SENT = RequestsSent()


# SIGINT and SIGTERM while `run` runs. A second one during the clean-up (a terminal's Ctrl-C reaches the connector, and
# then PyAirbyte, stopping, sends SIGTERM) raises nothing: ending on it left the temporary folder behind (measured).
# The clean-up writes nothing, so it cannot wait on a reader that is gone.
STOPPED = Interruption()


if __name__ == "__main__":
    run()
