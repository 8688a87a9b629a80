"""One page, several streams: the invoice streams' requester, and why it is custom.

**SharedPagesRequester**, for the invoice streams' `HttpRequester`. invoices, invoice_line_items and
invoice_transactions read the same `/v1/invoices` pages, and ChartMogul counts every request against the account's 40
per second: read by each stream, those pages were 603 of the 2,117 requests of the benchmark's sync without
customer_subscriptions. No declarative component serves several streams from one set of responses, and the CDK's HTTP
cache cannot stand in (read in airbyte-cdk 7.39's `HttpClient`): it keeps one cache per stream name (with
`REQUEST_CACHE_PATH`, which the entrypoint sets), and it stores a 200 when it arrives, before the error handler has
seen it, so a truncated page would be replayed to the retry. The requester holds the manifest's `HttpRequester`
(budget, retries, error handler unchanged) and shares each accepted page through a `PagePool` (what it holds, and for
how long: there). Which streams share is known from the configured catalog, which `SourceChartmogul.read` hands to
`PageSharing`; the waiting streams get threads of their own (`read_plan.workers`).
"""

import collections
import io
import json
import threading
import zlib
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, MutableMapping, Optional, Tuple, Union

import requests
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.declarative.requesters.requester import HttpMethod, Requester
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

from source_chartmogul import cdk_speedups

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
