"""The plans the entrypoint makes for a read before it builds the source: the threads it reads with (`workers`), and
where activities' windows start and how long they are (`plan_activity_windows`). The manifest reads both from config
keys that the entrypoint sets, never a user (`CONNECTOR_KEYS`); the Connector Builder's manifest keeps today's
activity windows and threads (`scripts/builder_manifest.py`).

**workers**, for the invoice streams that share their pages (`components.shared_pages`): a stream that waits for the
pages another one fetches gets threads of its own (see the function).

**plan_activity_windows**, for activities' fixed 10-day windows from start_date: one request for the first page of
activities decides where the windows start and how long they are. The CDK's cursor takes its start and step from the
config, so the entrypoint adds two keys of its own to the config it builds the source with.

**costs**, what each selected stream costs in requests, from the manifest's own definition of the stream and what is
known of the account's size (`source-chartmogul-duckdb` prints them before it reads): the same facts as the rest of the
plan (pages of 200, the invoice pages shared, the activity windows), so the cost lines change with the plan.

Only the standard library and `requests`, never airbyte-cdk (directly or through another module of the package): a
process can import the plan without paying the CDK's import (measured: a process importing this module took 0.15 s,
one importing source.py 1.5 s; unit_tests/test_imports.py checks that airbyte-cdk stays unloaded).
"""

import datetime
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import requests

WORKERS = "__workers"  # the manifest's concurrency_level reads it (set by the entrypoint, never by a user)
INVOICE_STREAMS = ("invoices", "invoice_line_items", "invoice_transactions")
CONNECTOR_KEYS = ("__activities_start", "__activities_step", WORKERS)  # config keys the entrypoint sets, never a user


def workers(configured_streams: Iterable[Any]) -> Dict[str, int]:
    """The threads a sync reads with: 12, plus 3 for each invoice stream that takes its pages from another one's
    requests (one per data source, for an account of 3). Such a stream's chains wait for the page the first one fetches
    instead of sending requests; without the extra threads they held 6 of the 12 (measured: 56.4 s against 51.6 s for
    the benchmark's selection without customer_subscriptions, docs/performance.md). At most 18 threads, each with
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


# --- What a read costs in requests ------------------------------------------------------------------------------
DEFAULT_WINDOW = datetime.timedelta(days=10)  # the manifest's step when the plan keeps today's windows


@dataclass
class Account:
    """What is known of an account's size (from the last load; empty before the first): records per stream, the
    records of each data source of the streams read one chain per data source, the plan names a metrics request can
    name, and the activities on or after where an incremental read of them starts."""

    records: Mapping[str, int] = field(default_factory=dict)
    per_data_source: Mapping[str, Sequence[int]] = field(default_factory=dict)
    plan_names: Optional[int] = None
    activities_since: Optional[int] = None


@dataclass(frozen=True)
class Cost:
    stream: str
    how: str  # what one request reads, and anything decided only during the read
    requests: Optional[int]  # about how many (None: the account's size is not known yet)
    exact: bool = False  # the count does not depend on the account's size (`how` says it all)


def _pages(records: Optional[int]) -> Optional[int]:
    return None if records is None else max(1, math.ceil(records / PAGE))


def _kind(definition: Mapping[str, Any]) -> str:
    retriever = definition.get("retriever") or {}
    router = retriever.get("partition_router") or {}
    if definition.get("incremental_sync"):
        return "windows"
    if router.get("type") == "GroupingPartitionRouter":
        return "plan names"
    parents = router.get("parent_stream_configs") or []
    if parents and parents[0].get("request_option"):
        return "data sources"
    if parents:
        return "parents"
    if (retriever.get("paginator") or {}).get("type", "NoPagination") == "NoPagination":
        return "request"
    return "pages"


def split_by_data_source(definition: Mapping[str, Any]) -> Optional[str]:
    """The endpoint a stream reads as one chain per data source (its cost depends on each data source's records), or
    None."""
    if _kind(definition) != "data sources":
        return None
    return definition["$parameters"].get("endpoint", definition["$parameters"]["name"])


def _parent_config(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    router = definition["retriever"]["partition_router"]
    return (router.get("underlying_partition_router") or router)["parent_stream_configs"][0]


def _parent(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    return _parent_config(definition)["stream"]


def _shares_pages_with(definition: Mapping[str, Any]) -> List[str]:
    requester = (definition.get("retriever") or {}).get("requester") or {}
    return list(requester.get("shared_by") or [])


def costs(definitions: Mapping[str, Mapping[str, Any]], selected: Sequence[str], account: Account,
          since: Optional[Mapping[str, datetime.date]] = None, today: Optional[datetime.date] = None,
          start_date: Optional[datetime.date] = None) -> List[Cost]:
    """What reading each of `selected` costs, in the order given. `definitions` are the streams as the manifest
    defines them, references resolved; `since`, for an incremental stream read from a saved state, the day its read
    starts (the state less the lookback window); `start_date`, the config's, where a first read of it starts."""
    since, today = since or {}, today or datetime.datetime.now(datetime.timezone.utc).date()
    records = account.records
    found: List[Cost] = []
    fetched_by: Dict[str, str] = {}  # a shared list's pages → the first selected stream, which requests them
    for name in selected:
        definition = definitions[name]
        kind = _kind(definition)
        if kind == "request":
            found.append(Cost(name, "1 request", 1, exact=True))
        elif kind == "pages":
            found.append(Cost(name, f"1 request per {PAGE} {name}", _pages(records.get(name))))
        elif kind == "parents":
            parent = _parent(definition)["$parameters"]["name"]
            each = _parent_config(definition)["partition_field"].removesuffix("_uuid")  # customer_uuid: a customer
            pages, count = _pages(records.get(parent)), records.get(parent)
            found.append(Cost(name, f"1 request per {each}, and the {parent} list", None if count is None else count + pages))
        elif kind == "plan names":
            parent = _parent(definition)["$parameters"]["name"]
            how = f"1 request per distinct plan name, and the {parent} list"
            names, pages = account.plan_names, _pages(records.get(parent))
            found.append(Cost(name, how, None if names is None or pages is None else names + pages))
        elif kind == "data sources":
            endpoint = split_by_data_source(definition)
            shared = _shares_pages_with(definition)
            owner = fetched_by.setdefault(endpoint, name) if shared else name
            if owner != name:
                found.append(Cost(name, f"1 data_sources request; the {endpoint} pages come with the requests of {owner}", 1,
                                  exact=True))
                continue
            counts = account.per_data_source.get(endpoint)
            pages = None if counts is None else sum(_pages(n) or 1 for n in counts) if counts else 1
            found.append(Cost(name, f"1 data_sources request, then 1 per {PAGE} {endpoint} of each data source",
                              None if pages is None else 1 + pages))
        else:
            start = since.get(name) or (start_date if start_date and today - start_date <= PLAN_BEYOND else None)
            found.append(_windows(name, start, account.activities_since if name in since else records.get(name), today))
    return found


def _windows(name: str, start: Optional[datetime.date], read: Optional[int], today: datetime.date) -> Cost:
    """The date windows of an incremental stream that will read about `read` records (plan_activity_windows)."""
    if start is not None:  # from a saved state, or a short history: 10-day windows from there
        windows = max(1, math.ceil((today - start) / DEFAULT_WINDOW))
        return Cost(name, f"1 request per {PAGE} {name} in each {DEFAULT_WINDOW.days}-day window since {start}",
                    windows + (read or 0) // PAGE)
    how = (f"1 request for the first of the {name}, then 1 per {PAGE} {name} in windows of at most {WINDOW_PAGES} "
           f"pages from it; the connector says how many windows once it knows the first")
    pages = _pages(read)
    if pages is None:
        return Cost(name, how, None)
    windows = max(min(FEWEST_WINDOWS, pages), math.ceil(pages / WINDOW_PAGES))
    return Cost(name, how, 1 + pages + math.ceil(windows / 2))
