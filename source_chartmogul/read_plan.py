"""The plans the entrypoint makes for a read before it builds the source: the threads it reads with (`workers`), and
where activities' windows start and how long they are (`plan_activity_windows`). The manifest reads both from config
keys that the entrypoint sets, never a user (`CONNECTOR_KEYS`); the Connector Builder's manifest keeps today's
activity windows and threads (`scripts/builder_manifest.py`).

**workers**, for the invoice streams that share their pages (`components.shared_pages`): a stream that waits for the
pages another one fetches gets threads of its own (see the function).

**plan_activity_windows**, for activities' fixed 10-day windows from start_date: one request for the first page of
activities decides where the windows start and how long they are. The CDK's cursor takes its start and step from the
config, so the entrypoint adds two keys of its own to the config it builds the source with.

Only the standard library and `requests`, never airbyte-cdk (directly or through another module of the package): a
process can import the plan without paying the CDK's import (measured: a process importing this module took 0.15 s,
one importing source.py 1.5 s; unit_tests/test_imports.py checks that airbyte-cdk stays unloaded).
"""

import datetime
import logging
import math
import re
from typing import Any, Dict, Iterable, Mapping, Optional

import requests

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
