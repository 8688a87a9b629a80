"""The connector's read plan: what each selected stream costs in requests.

(The rest of the read plan, threads and activity windows, joins this module from components.py.)
"""

import datetime
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

PAGE = 200
PLAN_BEYOND = datetime.timedelta(days=120)
WINDOW_PAGES = 20
FEWEST_WINDOWS = 3
DEFAULT_WINDOW = datetime.timedelta(days=10)


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


def _parent(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    router = definition["retriever"]["partition_router"]
    config = (router.get("underlying_partition_router") or router)["parent_stream_configs"][0]
    return config["stream"]


def _shares_pages_with(definition: Mapping[str, Any]) -> List[str]:
    requester = (definition.get("retriever") or {}).get("requester") or {}
    return list(requester.get("shared_by") or [])


def costs(definitions: Mapping[str, Mapping[str, Any]], selected: Sequence[str], account: Account,
          since: Optional[Mapping[str, datetime.date]] = None, today: Optional[datetime.date] = None) -> List[Cost]:
    """What reading each of `selected` costs, in the order given. `definitions` are the streams as the manifest
    defines them, references resolved; `since`, for an incremental stream read from a saved state, the day its read
    starts (the state less the lookback window)."""
    since, today = since or {}, today or datetime.datetime.now(datetime.timezone.utc).date()
    records = account.records
    found: List[Cost] = []
    fetched_by: Dict[str, str] = {}  # a shared list's pages → the first selected stream, which requests them
    for name in selected:
        definition = definitions[name]
        kind = _kind(definition)
        if kind == "request":
            found.append(Cost(name, "1 request", 1))
        elif kind == "pages":
            found.append(Cost(name, f"1 request per {PAGE} {name}", _pages(records.get(name))))
        elif kind == "parents":
            parent = _parent(definition)["$parameters"]["name"]
            pages, count = _pages(records.get(parent)), records.get(parent)
            found.append(Cost(name, f"1 request per {parent[:-1]}, and the {parent} list",
                              None if count is None else count + pages))
        elif kind == "plan names":
            parent = _parent(definition)["$parameters"]["name"]
            how = f"1 request per distinct plan name, and the {parent} list"
            names, pages = account.plan_names, _pages(records.get(parent))
            found.append(Cost(name, how, None if names is None or pages is None else names + pages))
        elif kind == "data sources":
            endpoint = definition["$parameters"].get("endpoint", name)
            shared = _shares_pages_with(definition)
            owner = fetched_by.setdefault(endpoint, name) if shared else name
            if owner != name:
                found.append(Cost(name, f"1 data_sources request; the {endpoint} pages {owner} requests, shared", 1))
                continue
            counts = account.per_data_source.get(endpoint)
            pages = None if counts is None else sum(_pages(n) or 1 for n in counts) if counts else 1
            found.append(Cost(name, f"1 data_sources request, then 1 per {PAGE} {endpoint} of each data source",
                              None if pages is None else 1 + pages))
        else:
            found.append(_windows(name, records.get(name), since.get(name), account.activities_since, today))
    return found


def _windows(name: str, total: Optional[int], start: Optional[datetime.date], since_records: Optional[int],
             today: datetime.date) -> Cost:
    if start is not None:  # incremental, from a saved state: 10-day windows from there (plan_activity_windows)
        windows = max(1, math.ceil((today - start) / DEFAULT_WINDOW))
        extra = 0 if since_records is None else since_records // PAGE
        return Cost(name, f"1 request per {PAGE} {name} in each {DEFAULT_WINDOW.days}-day window since {start}",
                    windows + extra)
    how = (f"1 request for the first of the {name}, then 1 per {PAGE} {name} in windows of at most {WINDOW_PAGES} "
           f"pages from it; the connector says how many windows once it knows the first")
    pages = _pages(total)
    if pages is None:
        return Cost(name, how, None)
    windows = max(min(FEWEST_WINDOWS, pages), math.ceil(pages / WINDOW_PAGES))
    return Cost(name, how, 1 + pages + math.ceil(windows / 2))
