"""The manifest's four custom components, and the plans the entrypoint makes for a read (activity windows, threads),
and why they are custom. Each component stands for a declarative one that the Connector Builder's manifest keeps in its
place, and the Builder's manifest keeps today's activity windows and threads (`scripts/builder_manifest.py`);
`integration_tests/test_connector_builder.py` checks that both manifests read the same records on every stream.
Measured effect: benchmarks/sync_benchmark.py, README.md "Performance".

**RecordsKeyExtractor**, for the `DpathExtractor`.

The CDK's `DpathExtractor` finds a page's records with `dpath.get(body, ["invoices"])`, which walks every value of the
page, nested ones included, to find one key: `dpath` stops a search only at a *second* match, and a literal key
matches once. On ChartMogul's pages that walk was 38% of the customers stream's CPU and 59% of the invoices stream's
(cProfile; a page of 200 invoices holds about 18,000 JSON values: 12 ms of walking against 0.7 ms of JSON decoding).
Its `RecordExpander`, which makes the invoice_line_items and invoice_transactions records, walks each invoice again
(`dpath.values`) and writes each copied field with `dpath.new`: 38% of invoice_line_items' CPU. No declarative
component avoids either walk: a wildcard path walks too, `field_path: []` returns the whole envelope, and the expander
is the only declarative way to make one record per nested item.

`RecordsKeyExtractor` is `DpathExtractor` with the path looked up key by key instead, and, for an expander that only
copies top-level fields of each record onto the items of one of its top-level lists (what the manifest's do), that
expansion done with plain dictionary operations: the same records, in the same order, from the same decoder. Any
other path (a glob) or expander (merging the parent, embedding it, truncated lists, nested paths) runs the CDK's own
code as before.

**BlankAsNull**, for subscription_events' `AddFields`. ChartMogul sends four of an event's fields as "" when unset,
and its reference shows amounts as strings ("100"); the `AddFields` turned "" into null and read the rest as the CDK
reads any rendered value, as a Python literal ("100" becomes 100). It renders a template for each field of each event:
about 170 µs of CPU per event, the second largest cost of a sync after activities (8.9 s of 46 s for the benchmark
account's selection without customer_subscriptions, which missed its target by that much). `BlankAsNull` gives the
same values without a template, for every value ChartMogul sends (see `_blank_as_null` for the one difference).

**PlanNamesFilter**, for the `RecordFilter` on the plans list that the streams by plan take their plan names from. Not
for speed: ChartMogul's metrics filter `plans` is a comma-separated list of names, so a plan whose name holds a comma
cannot be asked for alone, and its metrics are skipped. The user must learn that, and which plan it was: a
`RecordFilter` drops records without a word, so this one logs each plan it drops, once per name and stream. It keeps
exactly the plans the RecordFilter (its `condition`) keeps.

**SharedPagesRequester**, for the invoice streams' `HttpRequester`. invoices, invoice_line_items and
invoice_transactions read the same `/v1/invoices` pages, and ChartMogul counts every request against the account's 40
per second: read by each stream, those pages were 603 of the 2,117 requests of the benchmark's sync without
customer_subscriptions. No declarative component serves several streams from one set of responses, and the CDK's HTTP
cache cannot stand in (read in airbyte-cdk 7.39's `HttpClient`): it keeps one cache per stream name (with
`REQUEST_CACHE_PATH`, which the entrypoint sets), and it stores a 200 when it arrives, before the error handler has
seen it, so a truncated page would be replayed to the retry. The requester holds the manifest's `HttpRequester`
(budget, retries, error handler unchanged) and shares each accepted page through a `PagePool` (what it holds, and for
how long: there). Which streams share is known from the configured catalog, which `SourceChartmogul.read` hands to
`PageSharing`; the waiting streams get threads of their own (`workers`).

**plan_activity_windows**, for activities' fixed 10-day windows from start_date: one request for the first page of
activities decides where the windows start and how long they are. The CDK's cursor takes its start and step from the
config, so the entrypoint adds two keys of its own to the config it builds the source with.
"""

import collections
import copy
import datetime
import io
import json
import logging
import math
import re
import threading
import zlib
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, MutableMapping, Optional, Tuple, Union

import requests

from source_chartmogul import cdk_speedups
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.expanders.record_expander import OnNoRecords
from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.declarative.requesters.requester import HttpMethod, Requester
from airbyte_cdk.sources.declarative.transformations.transformation import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

_GLOB_CHARACTERS = ("*", "?", "[")  # what dpath reads as a pattern inside a path segment


def _plain(path: List[Any]) -> bool:
    return all(not any(glob in str(segment) for glob in _GLOB_CHARACTERS) for segment in path)


def _lookup(body: Any, path: List[str], default: Any) -> Any:
    """`dpath.get(body, path, default=default)` for a path without globs, reading only the containers on the path: a
    mapping's key compared as a string, a list's item by its index."""
    value = body
    for segment in path:
        if isinstance(value, Mapping):
            if str(segment) not in value:
                return default
            value = value[str(segment)]
        elif isinstance(value, list):
            try:
                value = value[int(segment)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return value


@dataclass
class RecordsKeyExtractor(DpathExtractor):
    """A `DpathExtractor` that neither walks the page nor, for a simple expander, each record (see the module)."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._expansion = self._simple_expansion(parameters)

    def _simple_expansion(self, parameters: Mapping[str, Any]) -> Optional[Tuple[str, List[Tuple[str, str]]]]:
        """(the nested list's key, [(parent field, item field)]) when the expander copies top-level fields of each
        record onto the items of one of its top-level lists and does nothing else; None otherwise."""
        expander = self.record_expander
        if expander is None or expander.remain_original_record or expander.merge_parent or \
                expander.truncation_indicator_path or expander.on_no_records != OnNoRecords.skip:
            return None
        path = [InterpolatedString.create(segment, parameters=parameters).eval(self.config)
                for segment in expander.expand_records_from_field]
        copies = [(field.evaluated_parent_path(), field.evaluated_record_path()) for field in expander.parent_fields or []]
        if len(path) != 1 or not _plain(path) or any(len(p) != 1 or len(r) != 1 or not _plain(p + r) for p, r in copies):
            return None
        return str(path[0]), [(str(p[0]), str(r[0])) for p, r in copies]

    def _expand(self, record: Any) -> Iterable[Any]:
        """What the CDK's RecordExpander yields for `record`, in the simple case `_simple_expansion` describes."""
        nested, copies = self._expansion  # type: ignore[misc]
        items = record.get(nested) if isinstance(record, Mapping) else None
        if not isinstance(record, Mapping):
            yield record  # the expander yields what it cannot expand as it is
            return
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) and not copies:
                yield item
                continue
            child = dict(item) if isinstance(item, dict) else {"value": item}
            for source, target in copies:  # a missing field copies null; a container is copied, not shared
                value = record.get(source)
                child[target] = copy.deepcopy(value) if isinstance(value, (Mapping, list, set, tuple)) else value
            yield child

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        path = [segment.eval(self.config) for segment in self._field_path]
        if not path or not _plain(path):
            yield from super().extract_records(response)  # the whole body, or a pattern: nothing to gain
            return
        for body in self.decoder.decode(response):
            extracted = _lookup(body, path, default=[])
            records = extracted if isinstance(extracted, list) else [extracted] if extracted else []
            if self.record_expander is None:
                yield from records
            elif self._expansion is not None:
                for record in records:
                    yield from self._expand(record)
            else:
                for record in records:
                    yield from self.record_expander.expand_record(record)


_INTEGER = re.compile(r"[ \t]*[+-]?(?:0|[1-9][0-9]*)\s*")  # an int as Python reads one: no leading zero


def _blank_as_null(value: Any) -> Any:
    """"" (or null) becomes null; the text of a whole number becomes that number ("100" becomes 100); anything else
    is kept. What the AddFields gives for every value ChartMogul sends (integers, integer text, "", currency codes):
    it reads any rendered text as a Python literal, so it would also turn "1.5", "True" or "[1]" into a float, a
    boolean or a list, which no integer amount or currency code is. (Not `ast.literal_eval`: on Python 3.11.7 it
    failed with "AST constructor recursion depth mismatch" when the threads of three chains called it at once,
    CPython issue 106905.)"""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value.strip())
    return value


@dataclass
class BlankAsNull(RecordTransformation):
    """Each of `fields` (added as null where the record lacks it): "" becomes null, "100" becomes 100; see the module."""

    fields: List[str]
    parameters: InitVar[Mapping[str, Any]]

    def transform(self, record: Dict[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Optional[Mapping[str, Any]] = None, stream_slice: Optional[Mapping[str, Any]] = None) -> None:
        for name in self.fields:  # not `field`: that is dataclasses' here
            record[name] = _blank_as_null(record.get(name))


@dataclass
class PlanNamesFilter(RecordFilter):
    """The plans whose name can be sent alone in ChartMogul's `plans` filter: not empty, no comma. Each plan left out
    is logged once per name (a name comes once per data source). `condition` is the declarative RecordFilter's, which
    the Connector Builder's manifest keeps; this filter keeps the same plans (unit_tests/test_components.py)."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._stream = parameters.get("by_plan_stream") or "the streams by plan"
        self._logged: set = set()
        self._lock = threading.Lock()

    def filter_records(self, records: Iterable[Mapping[str, Any]], stream_state: Any, stream_slice: Any = None,
                       next_page_token: Any = None) -> Iterable[Mapping[str, Any]]:
        for record in records:
            name = record.get("name")
            if isinstance(name, str) and name and "," not in name:
                yield record
                continue
            with self._lock:
                first = name not in self._logged
                self._logged.add(name)
            if first:
                _LOGGER.warning(_skipped_plan_message(name, record.get("uuid"), self._stream))


_LOGGER = logging.getLogger("airbyte")


def _skipped_plan_message(name: Any, uuid: Any, stream: str) -> str:
    if isinstance(name, str) and name:
        return (f"{stream}: skipped the plan {name!r} ({uuid}): its name contains a comma, which ChartMogul's `plans` "
                f"filter reads as a separator between plan names, so its metrics cannot be asked for alone. Rename the "
                f"plan in ChartMogul without a comma to read its metrics; the account's metrics still include it.")
    return (f"{stream}: skipped the plan {uuid}: it has no name, and ChartMogul's `plans` filter selects plans by name. "
            f"Give the plan a name in ChartMogul to read its metrics; the account's metrics still include it.")


# --- One page, several streams -----------------------------------------------------------------------------------
_SHARING = threading.local()  # the PageSharing of the read being set up in this thread, if any


class PageSharing:
    """Which streams of one sync read the same pages, and the pools that hold those pages for them.

    `SourceChartmogul.read` opens one for the streams its configured catalog selects (`with PageSharing(names)`); the
    requesters the CDK builds for that read, in that thread, take their pool from it. A requester built outside such a
    read (check, discover, the Connector Builder) gets no pool and reads its pages itself, as an HttpRequester does."""

    def __init__(self, selected: Iterable[str]) -> None:
        self.selected = frozenset(selected)
        self.pools: Dict[Tuple[str, ...], "PagePool"] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "PageSharing":
        self._outer = getattr(_SHARING, "current", None)
        _SHARING.current = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _SHARING.current = self._outer

    @staticmethod
    def current() -> Optional["PageSharing"]:
        return getattr(_SHARING, "current", None)

    @staticmethod
    def pool_for(stream: str, shared_by: Iterable[str], max_megabytes_held: float) -> Optional["PagePool"]:
        """The pool `stream` shares with the other selected streams of `shared_by`; None when it reads alone."""
        sharing = PageSharing.current()
        if sharing is None:
            return None
        readers = tuple(sorted(sharing.selected & set(shared_by)))
        if stream not in readers or len(readers) < 2:
            return None
        with sharing._lock:
            if readers not in sharing.pools:
                sharing.pools[readers] = PagePool(frozenset(readers), int(max_megabytes_held * 1_000_000))
            return sharing.pools[readers]


HELD_COMPRESSION = 6  # zlib level of the pages held


class _Held:
    """An accepted answer, as held for the streams that have not taken it: its body compressed (zlib level 6: about
    a tenth of the bytes, 4 ms per 500 kB page), what a response needs besides, not the parsed body."""

    __slots__ = ("body", "status", "reason", "url", "encoding", "headers", "request", "elapsed")

    def __init__(self, response: requests.Response) -> None:
        self.body = zlib.compress(response.content, HELD_COMPRESSION)
        self.status, self.reason, self.url, self.encoding = response.status_code, response.reason, response.url, response.encoding
        self.headers, self.request, self.elapsed = dict(response.headers), response.request, response.elapsed

    def response(self) -> requests.Response:
        """A response of the stream's own: the same status, headers and bytes, parsed by its own decoder."""
        response = requests.Response()
        response.status_code, response.reason, response.url, response.encoding = self.status, self.reason, self.url, self.encoding
        response.headers = requests.structures.CaseInsensitiveDict(self.headers)
        response.request, response.elapsed = self.request, self.elapsed
        response.raw = io.BytesIO(zlib.decompress(self.body))  # read as any response's body (requests' public `raw`)
        if cdk_speedups.installed():  # parsed once, as the fetching stream's error handler parsed its own
            cdk_speedups.response_json_once(response)
        return response


class _Page:
    __slots__ = ("ready", "fetching", "held", "waiting")

    def __init__(self, readers: FrozenSet[str]) -> None:
        self.ready = threading.Event()  # set when the fetch in flight has ended
        self.fetching = False
        self.held: Optional[_Held] = None  # an answer the error handler accepted, held for `waiting`
        self.waiting = set(readers)  # the streams that have not taken this page yet


class PagePool:
    """Pages fetched by one stream and not yet taken by every other stream that reads them.

    A stream that asks for a page (the same URL and parameters) either takes the copy held for it or, if none is
    held, fetches it; the fetch goes through the requester's budget, retries and error handler as any other, so a
    page that failed (a truncated body, a 5xx) is fetched again, and only an answer the error handler accepted (a 200)
    is held. A stream that asks while another fetches the page waits for that fetch. Each stream takes its own copy
    (the same bytes, its own parse), and a page is let go as soon as every reader has taken it. A stream whose fetch
    raised has not taken the page: the next reader to ask fetches it. At most `max_bytes` (compressed) are held:
    beyond, the oldest pages are let go, and a reader that had not taken one yet requests it again. A stream that asks
    for a page it has already taken fetches it again, alone."""

    def __init__(self, readers: FrozenSet[str], max_bytes: int) -> None:
        self.readers, self.max_bytes = readers, max_bytes
        self._pages: "collections.OrderedDict[str, _Page]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self.fetched = self.shared = self.dropped = self.peak_pages = self.peak_bytes = 0
        self._held_pages = self._held_bytes = 0

    def take(self, stream: str, key: str, fetch: Callable[[], Optional[requests.Response]]) -> Optional[requests.Response]:
        while True:
            with self._lock:
                page = self._pages.get(key)
                if page is None:
                    page = self._pages[key] = _Page(self.readers)
                    self._cap()
                if stream not in page.waiting:
                    page, role = None, "alone"  # taken already: fetch it again, for this stream only
                elif page.fetching:
                    ready, role = page.ready, "wait"
                elif page.held is not None:
                    self.shared += 1
                    held = page.held
                    self._taken(key, page, stream)
                    return held.response()
                else:
                    page.fetching, page.ready, role = True, threading.Event(), "fetch"
            if role != "wait":
                return self._fetch(stream, key, page, fetch)
            ready.wait()  # then ask again: the page is held now, or the fetch failed and this stream may fetch it

    def _fetch(self, stream: str, key: str, page: Optional[_Page],
               fetch: Callable[[], Optional[requests.Response]]) -> Optional[requests.Response]:
        response, raised = None, True
        try:
            response = fetch()
            raised = False
            return response
        finally:
            held = _Held(response) if not raised and response is not None and response.status_code == 200 \
                and page is not None and page.waiting - {stream} else None  # compressed outside the lock
            with self._lock:
                self.fetched += 1
                if page is not None:
                    page.fetching = False
                    if not raised:
                        if held is not None and self._pages.get(key) is page:
                            page.held = held
                            self._pages.move_to_end(key)
                            self._held_pages, self._held_bytes = self._held_pages + 1, self._held_bytes + len(held.body)
                            self._cap()
                            self.peak_pages = max(self.peak_pages, self._held_pages)
                            self.peak_bytes = max(self.peak_bytes, self._held_bytes)
                        self._taken(key, page, stream)
                    page.ready.set()

    def _taken(self, key: str, page: _Page, stream: str) -> None:
        page.waiting.discard(stream)
        if not page.waiting:
            self._drop(key, page)

    def _cap(self) -> None:
        """At most `max_bytes` held: the oldest answers beyond are let go, and their readers that had not taken them
        fetch them again. A page let go stays known (its URL and who has taken it, a few hundred bytes), so that once
        fetched again it is not held for readers that took it already: at most 10,000 pages known."""
        for key in list(self._pages):
            if self._held_bytes <= self.max_bytes:
                break
            page = self._pages[key]
            if page.held is not None:
                self.dropped += 1
                self._let_go(page)
        for key in list(self._pages):
            if len(self._pages) <= 10_000:
                break
            if not self._pages[key].fetching:
                self._drop(key, self._pages[key])

    def _let_go(self, page: _Page) -> None:
        if page.held is not None:
            self._held_pages, self._held_bytes = self._held_pages - 1, self._held_bytes - len(page.held.body)
            page.held = None

    def _drop(self, key: str, page: _Page) -> None:
        if self._pages.get(key) is page:
            del self._pages[key]
        self._let_go(page)

    def summary(self) -> str:
        readers = ", ".join(sorted(self.readers))
        return (f"Pages shared by {readers}: {self.fetched} requested, {self.shared} taken from another stream's request, "
                f"{self.dropped} let go before every stream took them (at most {self.max_bytes / 1e6:.0f} MB held); at "
                f"most {self.peak_pages} pages ({self.peak_bytes / 1e6:.1f} MB compressed) held at once.")


@dataclass
class SharedPagesRequester(Requester):
    """The HttpRequester it holds, with each page shared by the streams of `shared_by` that the sync selects: invoices,
    invoice_line_items and invoice_transactions read the same `/v1/invoices` pages, and each page is requested once
    however many of them are selected (see `PagePool`). Everything else is the HttpRequester's own."""

    requester: HttpRequester
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    shared_by: List[str] = field(default_factory=list)
    max_megabytes_held: float = 32

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self.pool = PageSharing.pool_for(self.requester.name, self.shared_by, self.max_megabytes_held)

    def __getattr__(self, name: str) -> Any:  # anything else the CDK asks a requester for
        if name == "requester":
            raise AttributeError(name)
        return getattr(self.requester, name)

    @property
    def exit_on_rate_limit(self) -> bool:
        return self.requester.exit_on_rate_limit

    @exit_on_rate_limit.setter
    def exit_on_rate_limit(self, value: bool) -> None:
        self.requester.exit_on_rate_limit = value

    def get_authenticator(self) -> DeclarativeAuthenticator:
        return self.requester.get_authenticator()

    def get_url(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        return self.requester.get_url(*args, **kwargs)

    def get_url_base(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        return self.requester.get_url_base(*args, **kwargs)

    def get_path(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        return self.requester.get_path(*args, **kwargs)

    def get_method(self) -> HttpMethod:
        return self.requester.get_method()

    def get_request_params(self, *args: Any, **kwargs: Any) -> MutableMapping[str, Any]:  # type: ignore[override]
        return self.requester.get_request_params(*args, **kwargs)

    def get_request_headers(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]:  # type: ignore[override]
        return self.requester.get_request_headers(*args, **kwargs)

    def get_request_body_data(self, *args: Any, **kwargs: Any) -> Union[Mapping[str, Any], str]:  # type: ignore[override]
        return self.requester.get_request_body_data(*args, **kwargs)

    def get_request_body_json(self, *args: Any, **kwargs: Any) -> Optional[Mapping[str, Any]]:  # type: ignore[override]
        return self.requester.get_request_body_json(*args, **kwargs)

    def send_request(self, stream_state: Optional[StreamState] = None, stream_slice: Optional[StreamSlice] = None,
                     next_page_token: Optional[Mapping[str, Any]] = None, path: Optional[str] = None,
                     request_headers: Optional[Mapping[str, Any]] = None, request_params: Optional[Mapping[str, Any]] = None,
                     request_body_data: Optional[Union[Mapping[str, Any], str]] = None,
                     request_body_json: Optional[Mapping[str, Any]] = None,
                     log_formatter: Optional[Callable[[requests.Response], Any]] = None) -> Optional[requests.Response]:
        def fetch() -> Optional[requests.Response]:
            return self.requester.send_request(stream_state, stream_slice, next_page_token, path, request_headers,
                                               request_params, request_body_data, request_body_json, log_formatter)

        if self.pool is None or request_body_data or request_body_json:
            return fetch()
        where = {"stream_state": stream_state, "stream_slice": stream_slice, "next_page_token": next_page_token}
        key = json.dumps([path or self.requester.get_url(**where), {**self.requester.get_request_params(**where), **(request_params or {})},
                          {**self.requester.get_request_headers(**where), **(request_headers or {})}], sort_keys=True, default=str)
        return self.pool.take(self.requester.name, key, fetch)


WORKERS = "__workers"  # the manifest's concurrency_level reads it (set by the entrypoint, never by a user)
INVOICE_STREAMS = ("invoices", "invoice_line_items", "invoice_transactions")
CONNECTOR_KEYS = ("__activities_start", "__activities_step", WORKERS)  # config keys the entrypoint sets, never a user


def workers(configured_streams: Iterable[Any]) -> Dict[str, int]:
    """The threads a sync reads with: 12, plus 3 for each invoice stream that takes its pages from another one's
    requests (one per data source, for an account of 3). Such a stream's chains wait for the page the first one fetches
    instead of sending requests; without the extra threads they held 6 of the 12 (measured: 56.4 s against 51.6 s for
    the benchmark's selection without customer_subscriptions, README.md "Performance"). At most 18 threads, each with
    at most one request in flight: under ChartMogul's 20 connections; the budget is unchanged."""
    selected = sum(1 for configured in configured_streams if configured.stream.name in INVOICE_STREAMS)
    return {WORKERS: 12 + 3 * (selected - 1)} if selected > 1 else {}


# --- Activity windows that fit the account ------------------------------------------------------------------------
# Config keys the entrypoint sets (never the user's: SourceChartmogul drops them from a user's config) and the
# manifest's activities cursor reads, `start_datetime` and `step`; without them, today's windows: 10 days from start_date.
ACTIVITIES_START, ACTIVITIES_STEP = "__activities_start", "__activities_step"

PLAN_BEYOND = datetime.timedelta(days=120)  # 12 windows of 10 days: at most 12 requests lost to short pages
WINDOW_PAGES = 20  # pages per window at most (5 s of requests at 250 ms each), so that the last windows end soon
FEWEST_WINDOWS = 3  # what the probe and up to 3 windows' last, short pages cost: at most 3 requests beyond the pages
PAGE = 200
# The spec's api_base_url pattern (a test checks they are the same): loopback only, never a remote host.
LOOPBACK = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}")  # ignore-https-check: loopback only
_log = logging.getLogger("airbyte")


def plan_activity_windows(config: Mapping[str, Any], incremental_from_state: bool,
                          now: Optional[datetime.datetime] = None) -> Dict[str, str]:
    """Where activities' windows start and how long they are, from one request: the first page of activities on or
    after start_date (ascending by date, as ChartMogul lists them when `order` is omitted).

    A first read (or a full refresh) of an account whose history since start_date is longer than 120 days: the windows
    start at the first activity's second (nothing before it is requested), and are sized from the density of that first
    page so that there are about pages / 20 windows of at most 20 pages each, and at least 3 (or as many as there are
    pages), never more than 10-day windows would be (a first page dated within a few seconds, an import, cannot
    make thousands): requests ≈ pages + windows / 2. An incremental read from a state, a short history, or a probe that fails
    (any error: the sync then reports it in its own words) keep today's windows: 10 days from start_date or the state
    minus the lookback window. Returns the config keys to add ({} for today's windows)."""
    # Made before the entrypoint checks the config against the spec: a config the spec would refuse gets no request
    # (the API key goes to api.chartmogul.com or to a loopback address only), and the sync then reports what is wrong.
    base = config.get("api_base_url") or "https://api.chartmogul.com"
    if incremental_from_state or not isinstance(config.get("api_key"), str) or not (
            base == "https://api.chartmogul.com" or LOOPBACK.fullmatch(str(base))):
        return {}
    now = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    try:
        lower = datetime.datetime.strptime(config["start_date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (KeyError, TypeError, ValueError):
        return {}
    if now - lower <= PLAN_BEYOND:
        return {}
    try:
        answer = requests.get(f"{base}/v1/activities", auth=(config["api_key"], ""), timeout=(10, 60),
                              params={"start-date": _iso(lower), "end-date": _iso(now), "per_page": str(PAGE)})
        answer.raise_for_status()
        body = answer.json()
        dates = [_second(entry["date"]) for entry in body["entries"]]
        has_more = bool(body.get("has_more"))
    except Exception as error:  # the probe only saves requests: without it, today's windows
        _log.info(f"Activities are read in 10-day windows from start_date (the request for the first activity failed: "
                  f"{type(error).__name__}).")
        return {}
    first = max(lower, dates[0]) if dates else lower
    span = max(now - first, datetime.timedelta(seconds=1))
    if not has_more:  # every activity since start_date is on this page: one window
        windows = 1
    else:
        per_second = (len(dates) - 1) / max((dates[-1] - first).total_seconds(), 1.0)
        pages = max(1.0, per_second * span.total_seconds() / PAGE)
        windows = max(min(FEWEST_WINDOWS, math.ceil(pages)), math.ceil(pages / WINDOW_PAGES))
        windows = min(windows, math.ceil(span / datetime.timedelta(days=10)))  # never more than 10-day windows
    step = math.ceil(span.total_seconds() / windows) + 1
    _log.info(f"Activities are read from the first one, {_iso(first)}, in {windows} window(s) of {step} s.")
    return {ACTIVITIES_START: _iso(first), ACTIVITIES_STEP: f"PT{step}S"}


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _second(date: str) -> datetime.datetime:
    """An activity's `date` (with an offset, or without one, read as UTC), to the whole second, in UTC."""
    moment = datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0)
