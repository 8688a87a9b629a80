"""The simulation's HTTP side: a threaded HTTP server on 127.0.0.1 answering as ChartMogul does."""

import base64
import bisect
import collections
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time as dtime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Deque, Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import orjson

from .dataset import Dataset, Route
from .ledger import closes_bucket

INTERVALS = {"day", "week", "month", "quarter", "year"}


@dataclass
class Stats:
    requests: int = 0
    by_status: Dict[int, int] = field(default_factory=collections.Counter)
    by_path: Dict[str, int] = field(default_factory=collections.Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    log: List[Tuple[float, str, Dict[str, str], int]] = field(default_factory=list)  # (t, path, query, status)


class SimulatedChartMogul:
    """A ChartMogul look-alike on 127.0.0.1 serving `dataset`.

    latency: seconds each response takes; rate_limit: requests per second before 429 (None = unlimited);
    max_connections: requests in flight before 503 (None = unlimited); retry_after: value of the Retry-After
    header on 429s (None = no header, as ChartMogul documents none); failures: endpoint → statuses to answer
    before serving normally (e.g. {"customers": [429, 503]}); bursts: (after, status, count) triples: once
    `after` requests have been admitted, the next `count` requests to any endpoint get `status` (a burst in the
    middle of a sync, e.g. [(10, 429, 5), (30, 503, 3)]); faults: endpoint → how to deliver its next answers
    over the socket, one entry per request (None = normally), e.g. {"customers": [None, "stall"]}: see FAULTS.
    `hold(after)` keeps every request after the first `after` waiting until `release()`: a client caught in the middle
    of a sync, whatever the machine's speed.
    """

    def __init__(self, dataset: Dataset, api_key: str, latency: float = 0.0, rate_limit: Optional[int] = None,
                 max_connections: Optional[int] = None, retry_after: Optional[str] = None,
                 failures: Optional[Dict[str, List[int]]] = None,
                 bursts: Optional[List[Tuple[int, int, int]]] = None,
                 faults: Optional[Dict[str, List[Optional[str]]]] = None) -> None:
        self.dataset, self.api_key, self.latency = dataset, api_key, latency
        self.rate_limit, self.max_connections, self.retry_after = rate_limit, max_connections, retry_after
        self.failures = {k: collections.deque(v) for k, v in (failures or {}).items()}
        self.bursts = sorted(bursts or [])
        unknown = {f for plan in (faults or {}).values() for f in plan} - set(FAULTS) - {None}
        assert not unknown, f"unknown fault modes {unknown}: use {sorted(FAULTS)}"
        self.faults = {k: collections.deque(v) for k, v in (faults or {}).items()}
        self.faulted: List[Tuple[str, str]] = []  # (endpoint, fault) in the order they were delivered
        self._closing = threading.Event()  # wakes stalled connections when the server stops
        self._admitted = 0
        self._held_after: Optional[int] = None
        self._released = threading.Event()
        self.stats = Stats()
        self._lock = threading.Lock()
        self._recent: Deque[float] = collections.deque()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"  # ignore-https-check: a loopback server, by design

    def __enter__(self) -> "SimulatedChartMogul":
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulated-chartmogul", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    # --- request handling --------------------------------------------------------------------------------
    def _admit(self, endpoint: str) -> Optional[Tuple[int, object, Dict[str, str]]]:
        """Count the request and apply the limits; an error response, or None to serve it."""
        now = time.monotonic()
        with self._lock:
            self.stats.requests += 1
            self.stats.by_path[endpoint] += 1
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            if self.max_connections is not None and self.stats.in_flight > self.max_connections:
                return 503, "503 Service Unavailable: too many parallel connections", {}
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if self.rate_limit is not None and len(self._recent) >= self.rate_limit:
                return 429, {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None}, self._retry_headers(429)
            self._recent.append(now)
            self._admitted += 1
            for after, status, count in self.bursts:
                if after < self._admitted <= after + count:
                    return status, {"code": status, "message": f"burst failure {status}", "param": None}, self._retry_headers(status)
            scripted = self.failures.get(endpoint)
            if scripted:
                status = scripted.popleft()
                return status, {"code": status, "message": f"scripted failure {status}", "param": None}, self._retry_headers(status)
        return None

    def hold(self, after: int) -> None:
        """Requests after the next `after` wait (unanswered) until `release()`."""
        self._released.clear()
        with self._lock:
            self._held_after = self.stats.requests + after

    def release(self) -> None:
        self._held_after = None
        self._released.set()

    def holding(self) -> bool:
        """True once a request is being held."""
        return self._held_after is not None and self.stats.requests > self._held_after

    def next_fault(self, path: str) -> Optional[str]:
        """The fault planned for this request to `path`, if any (consumes one entry of its plan)."""
        endpoint = path.removeprefix("/v1/").strip("/")
        with self._lock:
            plan = self.faults.get(endpoint)
            fault = plan.popleft() if plan else None
            if fault:
                self.faulted.append((endpoint, fault))
        return fault

    def _retry_headers(self, status: int) -> Dict[str, str]:
        return {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}

    def _release(self, path: str, query: Dict[str, str], status: int) -> None:
        with self._lock:
            self.stats.in_flight -= 1
            self.stats.by_status[status] += 1
            self.stats.log.append((time.monotonic(), path, query, status))

    def _authorized(self, header: Optional[str]) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.api_key and password in ("", self.api_key)

    def respond(self, path: str, query: Dict[str, str], auth: Optional[str]) -> Tuple[int, object, Dict[str, str]]:
        endpoint = path.removeprefix("/v1/").strip("/")
        refused = self._admit(endpoint)
        if refused:
            return refused
        if self.holding():
            self._released.wait()  # set by release(), or when the server stops
        if self.latency:
            time.sleep(self.latency)
        if not self._authorized(auth):
            return 401, {"code": 401, "message": "No valid API key provided", "param": None}, {}
        if endpoint == "ping":
            return 200, {"data": "pong!"}, {}
        route = self.dataset.routes.get(endpoint)
        if route is None:
            return 404, {"code": 404, "message": f"The requested resource /{endpoint} could not be found.", "param": None}, {}
        try:
            return 200, _serve(route, query), {}
        except _BadRequest as bad:
            return 400, {"code": 400, "message": str(bad), "param": bad.param}, {}


class _BadRequest(ValueError):
    def __init__(self, message: str, param: Optional[str] = None) -> None:
        super().__init__(message)
        self.param = param


def _serve(route: Route, query: Dict[str, str]) -> dict:
    if route.kind == "object":
        return dict(route.records[0])
    if "data_source_uuid" in query:  # ChartMogul's filter on customers, plans, invoices, subscription events, contacts
        route = replace(route, records=_of_data_source(route.records, query["data_source_uuid"]))
    if route.kind == "plain":
        return {route.records_key: list(route.records)}
    if route.kind == "metrics":
        start, end, interval = (query.get(k) for k in ("start-date", "end-date", "interval"))
        if not start or not end:
            raise _BadRequest("start-date and end-date are required", "start-date" if not start else "end-date")
        if interval and interval not in INTERVALS:
            raise _BadRequest(f"Invalid interval: {interval}", "interval")
        first, last = _day(start, "start-date"), _day(end, "end-date")
        if first > last:
            raise _BadRequest("start-date must be before end-date", "start-date")
        plans = query["plans"].split(",") if "plans" in query else None  # comma-separated names, each as it was sent
        if route.buckets is not None:  # a generated account: each bucket made of its days
            entries = route.buckets(plans, interval or "month", first, last)
        else:  # recorded entries: those dated in the range that end a bucket
            listed = route.by_plan(plans) if plans is not None and route.by_plan is not None else route.records
            entries = [e for e in listed if first <= date.fromisoformat(e["date"]) <= last
                       and closes_bucket(date.fromisoformat(e["date"]), interval or "month", last)]
        return {route.records_key: entries, "summary": {"current": 0, "previous": 0, "percentage-change": 0.0}}
    records, low_index, high_index = route.records, 0, len(route.records)
    if route.kind == "dated":
        low = _instant(query["start-date"], "start-date", end=False) if "start-date" in query else None
        high = _instant(query["end-date"], "end-date", end=True) if "end-date" in query else None
        if route.ordered:  # binary search: the records are in ascending date order
            if low is not None:
                low_index = bisect.bisect_left(records, low, key=lambda r: _instant(r["date"]))
            if high is not None:
                high_index = max(low_index, bisect.bisect_right(records, high, key=lambda r: _instant(r["date"])))
        elif low or high:
            records = [r for r in records
                       if (low is None or low <= _instant(r["date"])) and (high is None or _instant(r["date"]) <= high)]
            high_index = len(records)
    if "page" in query:
        raise _BadRequest("page is deprecated: use cursor pagination", "page")
    per_page = min(int(query.get("per_page", 200)), 200)
    offset = _decode_cursor(query["cursor"]) if "cursor" in query else 0
    first = low_index + offset
    chunk = records[first:min(first + per_page, high_index)]
    has_more = first + per_page < high_index
    body = {route.records_key: chunk, "has_more": has_more, "cursor": _encode_cursor(offset + len(chunk))}
    if "cursor" not in query:  # deprecated keys that ChartMogul still sends on first pages
        total = high_index - low_index
        body.update(per_page=per_page, page=1, current_page=1, total_pages=max(1, -(-total // per_page)))
    return body


def _of_data_source(records: Sequence[dict], data_source: str) -> Sequence[dict]:
    """The records listed under one data source: a customer merged from several is listed under each of them."""
    view = getattr(records, "of_data_source", lambda _: None)(data_source)
    if view is not None:
        return view
    return [r for r in records if data_source in (r.get("data_source_uuids") or [r.get("data_source_uuid")])]


def _day(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _BadRequest(f"Invalid {param}: {value}", param) from None


def _instant(value: str, param: str = "date", end: bool = False) -> datetime:
    """A datetime or a plain date (a plain end-date covers its whole day)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), dtime.max if end else dtime.min, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        raise _BadRequest(f"Invalid {param}: {value}", param) from None


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"fake-cursor&{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().split("&")[1])
    except (ValueError, IndexError):
        raise _BadRequest("Invalid cursor", "cursor") from None


# Socket-level faults, as a load balancer, a proxy or a broken network delivers them (SimulatedChartMogul(faults=...)).
PROXY_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
              b"<hr><center>nginx</center></body></html>")
FAULTS = {
    "stall": "accept and read the request, then never answer",
    "reset": "send the headers and half the body, then reset the connection",
    "truncated": "a complete 200 whose JSON body is cut in half",
    "html": "a 200 carrying a proxy's HTML error page",
    "trickle": "send the headers, then the body one byte per second for 3 bytes, then stall",
}


def _deliver_faulty(handler: BaseHTTPRequestHandler, fake: SimulatedChartMogul, fault: str, payload: bytes) -> None:
    if fault == "stall":
        fake._closing.wait()
        handler.close_connection = True
        return
    if fault in ("truncated", "html"):
        payload = payload[: len(payload) // 2] if fault == "truncated" else PROXY_PAGE
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json" if fault == "truncated" else "text/html")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        return
    handler.send_response(200)  # reset / trickle: the headers promise the whole body
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.flush()
    handler.close_connection = True
    if fault == "reset":
        handler.wfile.write(payload[: len(payload) // 2])
        handler.wfile.flush()
        # SO_LINGER 0: close() sends a TCP RST instead of a FIN, as a dropped connection does
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return
    for byte in payload[:3]:  # trickle
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        if fake._closing.wait(1.0):
            return
    fake._closing.wait()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that goes away mid-request (a sync interrupted, a connection dropped) is no error of the server's:
        say nothing. Anything else is printed as the standard library does."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _handler_for(fake: SimulatedChartMogul) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as requests' connection pool expects
        # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the client's delayed
        # ACK of the headers, about 40 ms per request on a kept-alive connection (a floor no real server has).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status = 500
            try:
                fault = fake.next_fault(parts.path)
                status, body, headers = fake.respond(parts.path, query, self.headers.get("Authorization"))
                payload = body.encode() if isinstance(body, str) else orjson.dumps(body)  # json took half a core beside the benchmarked connector
                if fault:
                    _deliver_faulty(self, fake, fault, payload)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            finally:
                fake._release(parts.path, query, status)

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    return Handler


class SimulationProcess:
    """The simulation served from a child process of its own, for measurements.

    In the process under test, the server's threads compete with the connector's for the interpreter lock: an answer,
    and the moment a request is counted against ChartMogul's limits, can then be late by the time the connector holds
    the lock. From a process of its own (multiprocessing "spawn"), the simulation times requests as a separate server
    does. `account` holds Dataset.generate's arguments; `options` SimulatedChartMogul's (latency, rate_limit, ...).
    `url` and `streams` (the account's records per stream) are known once entered; `stats()` says what it saw so far.
    """

    def __init__(self, account: Dict[str, object], api_key: str, **options: object) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_in_child, args=(child, account, api_key, options), daemon=True)
        self.url, self.streams = "", {}

    def __enter__(self) -> "SimulationProcess":
        self._process.start()
        self.url, self.streams = self._conn.recv()
        return self

    def stats(self) -> Stats:
        self._conn.send("stats")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _serve_in_child(conn: object, account: Dict[str, object], api_key: str, options: Dict[str, object]) -> None:
    dataset = Dataset.generate(**account)  # type: ignore[arg-type]
    with SimulatedChartMogul(dataset, api_key, **options) as simulation:  # type: ignore[arg-type]
        conn.send((simulation.url, dataset.streams))  # type: ignore[attr-defined]
        while conn.recv() == "stats":  # type: ignore[attr-defined]
            with simulation._lock:
                conn.send(replace(simulation.stats, log=list(simulation.stats.log)))  # type: ignore[attr-defined]
