"""What the fake serves: one `Route` per endpoint, with the records it lists and how it lists them."""

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Union, overload

# list: cursor-paginated; dated: cursor-paginated and filtered by start-date/end-date on `date`;
# metrics: unpaginated, filtered by start-date/end-date (both required) and needing `interval`;
# plain: the whole list in one response, no pagination (data_sources);
# object: one JSON object that is itself the only record (account), not a list.
Kind = Literal["list", "dated", "metrics", "plain", "object"]


@dataclass(frozen=True)
class Endpoint:
    """Where ChartMogul lists a stream's records (path below /v1), how (`Kind`) and under which key.

    A substream (parent set) is listed per record of its parent stream: `path` holds a `{partition_field}`
    placeholder filled with that parent record's `parent_key`, e.g. "customers/{customer_uuid}/subscriptions".
    The stream's records carry `partition_field` (the connector adds it); ChartMogul's answer does not.
    """

    path: str
    kind: Kind = "list"
    records_key: str = "entries"
    parent: Optional[str] = None
    parent_key: str = "uuid"
    partition_field: str = ""


@dataclass
class Route:
    kind: Kind
    records: Sequence[dict]  # a list, or `SyntheticRecords` that builds each record when it is served
    records_key: str = "entries"
    # True when `records` are in ascending `date` order (as ChartMogul lists activities): the server then finds a
    # start-date/end-date range by binary search instead of scanning every record on every request.
    ordered: bool = False


class SyntheticRecords(Sequence[dict]):
    """A read-only list of `length` records where record i is `make(i)`, built only when it is read.

    Lets the fake serve accounts with millions of records in constant memory (the benchmark's 10x account).
    """

    def __init__(self, length: int, make: Callable[[int], dict]) -> None:
        self._length, self._make = length, make

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict: ...

    @overload
    def __getitem__(self, index: slice) -> List[dict]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[dict, List[dict]]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._make(index)


@dataclass
class Dataset:
    """Endpoint path below /v1 (e.g. "customers", "metrics/customer-count") → Route."""

    routes: Dict[str, Route] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], endpoints: Mapping[str, "Endpoint"],
                     null_fields: Optional[Mapping[str, Iterable[str]]] = None) -> "Dataset":
        """Serve Airbyte RECORD rows (`{"stream": ..., "data": {...}}`, e.g. the lines of expected_records.jsonl)
        from the endpoint each stream reads, in the order given; every endpoint is served, empty if it has no row.

        null_fields: per stream, the top-level fields to send as `null` where a row lacks them. ChartMogul sends
        every key, null or not, while the Airbyte protocol drops top-level nulls from records; restoring them makes
        the fake answer as the API does and the connector's output comparable with the rows.
        """
        rows = list(records)
        unknown = {row["stream"] for row in rows} - set(endpoints)
        if unknown:
            raise KeyError(f"no endpoint known for stream(s) {sorted(unknown)}")
        routes: Dict[str, Route] = {}
        for stream, endpoint in endpoints.items():
            nulls = list((null_fields or {}).get(stream, ()))
            served = [{**{name: None for name in nulls}, **row["data"]} for row in rows if row["stream"] == stream]
            if endpoint.parent is None:
                routes[endpoint.path] = Route(endpoint.kind, served, endpoint.records_key)
                continue
            # One route per parent record, every one served (an existing parent without records answers an empty
            # list; a path of no parent answers 404, as ChartMogul does for a deleted customer).
            field, placed = endpoint.partition_field, 0
            for parent in (row["data"] for row in rows if row["stream"] == endpoint.parent):
                own = [{k: v for k, v in r.items() if k != field} for r in served if r[field] == parent[endpoint.parent_key]]
                routes[endpoint.path.format(**{field: parent[endpoint.parent_key]})] = Route(endpoint.kind, own, endpoint.records_key)
                placed += len(own)
            if placed != len(served):
                raise KeyError(f"{stream}: {len(served) - placed} row(s) whose {field} is no {endpoint.parent} row's {endpoint.parent_key}")
        return cls(routes)

    @classmethod
    def generate(cls, customers: int = 200, activities: int = 2_000, metric_days: int = 730,
                 end: date = date(2026, 11, 1), seed: int = 7, lazy: bool = False) -> "Dataset":
        """A synthetic account: customers, activities spread over `metric_days` before `end`, daily metrics.

        Record i is built from a seed derived from i (`SyntheticRecords`); activities are evenly spread in ascending
        `date` order. lazy=True builds them when served, so memory stays flat however large the account; otherwise
        they are built once, up front.
        """
        start = datetime.combine(end - timedelta(days=metric_days), datetime.min.time(), tzinfo=timezone.utc)
        base, span = int(start.timestamp()), metric_days * 86_400

        def customer(i: int) -> dict:
            return _synthetic_customer(i, seed, base + span * i // max(customers, 1))

        def activity(i: int) -> dict:
            return _synthetic_activity(i, seed, customers, base + span * i // max(activities, 1))

        customer_rows, activity_rows = SyntheticRecords(customers, customer), SyntheticRecords(activities, activity)
        return cls({
            "customers": Route("list", customer_rows if lazy else list(customer_rows)),
            "activities": Route("dated", activity_rows if lazy else list(activity_rows), ordered=True),
            "metrics/customer-count": Route("metrics", _customer_count(end, metric_days)),
        })


def _customer_count(end: date, metric_days: int) -> List[dict]:
    days = [end - timedelta(days=d) for d in range(metric_days, -1, -1)]
    return [{"date": d.isoformat(), "customers": 100 + i, "percentage-change": round(100 / (100 + i), 2)}
            for i, d in enumerate(days)]


# --- synthetic records: each one a pure function of its index, cheap enough to build on every request ------------
_KINDS = ("new_biz", "expansion", "contraction", "churn", "reactivation")
_DS = "ds_00000000-0000-4000-8000-000000000001"


def _mix(value: int) -> int:
    """A 64-bit hash of value (splitmix64's finaliser): stands in for a random number generator per record."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def _uuid(*parts: int) -> str:
    return str(uuidlib.UUID(int=(_mix(hash(parts)) << 64) | _mix(hash(parts) + 1), version=4))


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _synthetic_customer(i: int, seed: int, since: int) -> dict:
    mrr = _mix(seed * 1_000_003 + i) % 50_000
    return {
        "id": 1_000_000 + i, "uuid": f"cus_{_uuid(seed, 1, i)}",
        "external_id": f"acct_{i}", "external_ids": [f"acct_{i}"],
        "data_source_uuid": _DS, "data_source_uuids": [_DS],
        "name": f"Customer {i}", "email": f"billing{i}@example.com", "company": f"Company {i}",
        "status": "Active" if mrr else "Cancelled", "customer-since": _iso(since),
        "lead_created_at": None, "free_trial_started_at": None,
        "country": "US", "state": "CA", "city": "San Francisco", "zip": "94103",
        "address": {"address_zip": "94103", "city": "San Francisco", "state": "California", "country": "United States"},
        "attributes": {"tags": ["generated"], "stripe": {}, "clearbit": {}, "custom": {"Seats": i % 50}},
        "mrr": mrr, "arr": mrr * 12, "billing-system-url": None,
        "chartmogul-url": f"https://app.chartmogul.com/#/customers/{1_000_000 + i}",
        "billing-system-type": "Import API", "currency": "USD", "currency-sign": "$",
        "owner": None, "website_url": None,
    }


def _synthetic_activity(i: int, seed: int, customers: int, when: int) -> dict:
    h = _mix(seed * 7_000_003 + i)
    kind = _KINDS[h % 5]
    movement = (100 + (h >> 8) % 9_900) * (-1 if kind in ("contraction", "churn") else 1)
    after = 0 if kind == "churn" else abs(movement)
    owner = (h >> 24) % customers if customers else None
    return {
        "uuid": _uuid(seed, 2, i), "date": _iso(when),
        "type": kind, "description": f"{kind} on plan Gold", "activity-mrr": after,
        "activity-mrr-movement": movement, "activity-arr": after * 12, "currency": "USD",
        "subscription-external-id": f"sub_{i}", "subscription-set-external-id": None,
        "plan-external-id": "gold_monthly", "customer-name": None if owner is None else f"Customer {owner}",
        "customer-uuid": None if owner is None else f"cus_{_uuid(seed, 1, owner)}",
        "customer-external-id": None if owner is None else f"acct_{owner}",
        "billing-connector-uuid": _DS,
    }
