"""What the fake serves: one `Route` per endpoint, with the records it lists and how it lists them; the records of a
generated account (`Dataset.generate`), built from its ledger (ledger.py) and their index."""

import re
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Set, Union, overload

from .ledger import KINDS, PLAN_NAMES, PRICES, SLOTS, Balances, Ledger

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

    A stream read per value of a query filter (`filter_param`, e.g. `plans` for the metrics by plan) is served from
    the same path as the unfiltered stream: the answer to `?plans=<name>` lists that stream's records whose
    `filter_field` is the name, without that field (the connector adds it).
    """

    path: str
    kind: Kind = "list"
    records_key: str = "entries"
    parent: Optional[str] = None
    parent_key: str = "uuid"
    partition_field: str = ""
    filter_param: str = ""
    filter_field: str = ""


# The answer of a metrics endpoint filtered by plan: plan names (the `plans` parameter, split at its commas) → the
# entries of those plans' subscriptions. A name the account has no plan of adds nothing (an empty list, if no name is
# known: ChartMogul documents no answer for an unknown name; docs/chartmogul.md, "Metrics by plan").
ByPlan = Callable[[List[str]], Sequence[dict]]

# The answer of a generated account's metrics endpoint: (the plan names of the `plans` parameter, or None for the whole
# account; interval; start-date; end-date) → its entries, one per bucket (ledger.Balances.entries).
Buckets = Callable[[Optional[List[str]], str, date, date], List[dict]]


@dataclass
class Route:
    kind: Kind
    records: Sequence[dict]  # a list, or `SyntheticRecords` that builds each record when it is served
    records_key: str = "entries"
    # True when `records` are in ascending `date` order (as ChartMogul lists activities): the server then finds a
    # start-date/end-date range by binary search instead of scanning every record on every request.
    ordered: bool = False
    by_plan: Optional[ByPlan] = None  # a metrics endpoint: its entries for `?plans=<names>`
    # A generated account's metrics endpoint: `records` are its entries per day (interval=day), and this makes the
    # entries of any interval and plans from them (the flows summed over each bucket, not its last day's).
    buckets: Optional[Buckets] = None


class SyntheticRecords(Sequence[dict]):
    """A read-only list of `length` records where record i is `make(i)`, built only when it is read.

    Lets the fake serve accounts with millions of records in constant memory (the benchmark's 10x account).
    data_sources: record i belongs to data_sources[i % len(data_sources)]; `of_data_source` then answers a
    `data_source_uuid` filter without building every record.
    """

    def __init__(self, length: int, make: Callable[[int], dict], data_sources: Sequence[str] = ()) -> None:
        self._length, self._make, self._data_sources = length, make, tuple(data_sources)

    def of_data_source(self, data_source: str) -> Optional["SyntheticRecords"]:
        """The records of one data source, in order (None when this list is not partitioned by data source)."""
        if not self._data_sources:
            return None
        if data_source not in self._data_sources:
            return SyntheticRecords(0, self._make)
        k, n = self._data_sources.index(data_source), len(self._data_sources)
        return SyntheticRecords(len(range(k, self._length, n)), lambda j: self._make(j * n + k))

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


class Routes(Dict[str, Route]):
    """Endpoint path → Route, plus routes found by parsing the path (`pattern` → factory of the match), so a route
    per customer (customers/<uuid>/subscriptions) costs nothing until it is requested."""

    def __init__(self, routes: Mapping[str, Route], patterns: Mapping[str, Callable[["re.Match[str]"], Optional[Route]]]) -> None:
        super().__init__(routes)
        self.patterns = [(re.compile(pattern), make) for pattern, make in patterns.items()]

    def get(self, path: str, default: Optional[Route] = None) -> Optional[Route]:  # type: ignore[override]
        if path in self:
            return self[path]
        for pattern, make in self.patterns:
            match = pattern.fullmatch(path)
            if match:
                route = make(match)
                if route is not None:
                    return route
        return default


@dataclass
class Dataset:
    """Endpoint path below /v1 (e.g. "customers", "metrics/customer-count") → Route.

    streams: for a generated account, stream name → how many records a full read of that stream returns.
    """

    routes: Dict[str, Route] = field(default_factory=dict)
    streams: Dict[str, int] = field(default_factory=dict)
    deleted: Set[str] = field(default_factory=set)  # uuids of the customers deleted since the account was made
    ledger: Optional[Ledger] = None  # a generated account's subscriptions, activities and metrics (ledger.py)

    def delete_customers(self, uuids: Iterable[str]) -> None:
        """Delete customers, as a ChartMogul user can: the customers go, with their invoices and contacts, and their
        subscriptions path answers 404 from then on. Other records that name them are left as they are. For an
        account built up front (Dataset.generate(lazy=False), Dataset.from_records), whose routes hold lists;
        `streams` keeps the counts of the account as it was made."""
        gone = set(uuids)
        for path, key in (("customers", "uuid"), ("invoices", "customer_uuid"), ("contacts", "customer_uuid")):
            route = self.routes[path]
            assert isinstance(route.records, list), "delete from an account built up front (lazy=False)"
            route.records = [record for record in route.records if record[key] not in gone]
        for uuid in gone:  # an account made from records has a route per customer
            self.routes.pop(f"customers/{uuid}/subscriptions", None)
        self.deleted |= gone  # in place: a generated account's subscriptions route answers 404 for these

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
        filtered: Dict[str, List[dict]] = {}  # path → the rows of its stream read per plan
        for stream, endpoint in endpoints.items():
            nulls = list((null_fields or {}).get(stream, ()))
            served = [{**{name: None for name in nulls}, **row["data"]} for row in rows if row["stream"] == stream]
            if endpoint.filter_param:
                assert endpoint.filter_param == "plans", f"{stream}: the simulation filters metrics by plans only"
                filtered[endpoint.path] = [dict(r) for r in served]
                continue
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
        for path, served in filtered.items():
            field = next(e.filter_field for e in endpoints.values() if e.path == path and e.filter_param)
            route = routes.setdefault(path, Route("metrics", []))
            route.by_plan = _rows_of_plans(served, field)
        return cls(routes)

    @classmethod
    def generate(cls, customers: int = 200, activities: int = 2_000, metric_days: int = 730,
                 end: date = date(2026, 11, 1), seed: int = 7, lazy: bool = False) -> "Dataset":
        """A synthetic account with every stream, in the shapes ChartMogul sends, sized from two numbers.

        customers and activities as given, activities evenly spread in ascending `date` order over the `metric_days`
        before `end` (the first one after `end - metric_days` at midnight UTC, the demo's start_date); 0-3
        subscriptions per customer, one route per customer, built when requested (customers without one are leads);
        2 invoices per customer (1-3 line items and a transaction each, which the invoice_line_items and
        invoice_transactions streams read from the invoices);
        subscription events a quarter of the activities; contacts for half the customers; opportunities, tasks and
        notes for a quarter each; the metrics (customer-count, all, mrr, and each by plan) per day from `end -
        metric_days` to `end` in the account's time zone, at any interval; 3 data sources that customers, invoices,
        subscription events and contacts are spread over (record i in data source i % 3; every 50th customer is in
        two); 30 plans in 6 plan groups; the account object.

        The subscriptions, activities, customers' MRR and status and the metrics are one account, as ChartMogul
        derives them (ledger.py): the customers' MRR adds up to the account's, a customer's to its active
        subscriptions', each activity moves its customer's MRR, and each metrics bucket's movements are its
        activities'. One currency, USD.

        The ledger holds the account in compact arrays (Ledger.footprint: about 17 bytes per activity and 38 per
        customer), built once; the records are built from it and from their index. lazy=True builds records when they
        are served, so memory stays the ledger's, however many records are read; otherwise they are built once, up
        front. `streams` says how many records a full read of each stream returns.
        """
        start = datetime.combine(end - timedelta(days=metric_days), datetime.min.time(), tzinfo=timezone.utc)
        base, span = int(start.timestamp()), metric_days * 86_400
        sizes = {"customers": customers, "activities": activities, "invoices": 2 * customers,
                 "subscription_events": activities // 4, "contacts": customers // 2, "opportunities": customers // 4,
                 "tasks": customers // 4, "notes": customers // 4, "plans": _PLANS, "plan_groups": _PLAN_GROUPS,
                 "data_sources": len(_DATA_SOURCES)}
        ledger = Ledger([_subscription_count(i, seed) for i in range(customers)], activities, base, span,
                        end - timedelta(days=metric_days), metric_days + 1, _ACCOUNT["time_zone"], seed)

        def at(i: int, n: int) -> int:  # the i-th of n moments spread evenly over the account's history
            return base + span * i // max(n, 1)

        makers: Dict[str, Callable[[int], dict]] = {
            "customers": lambda i: _synthetic_customer(i, seed, ledger, at(i, customers)),
            "activities": lambda i: _synthetic_activity(i, seed, ledger),
            "invoices": lambda i: _synthetic_invoice(i, seed, customers, at(i, 2 * customers)),
            "subscription_events": lambda i: _synthetic_subscription_event(i, seed, customers, at(i, activities // 4)),
            "contacts": lambda i: _synthetic_contact(i, seed, customers, at(i, customers // 2)),
            "opportunities": lambda i: _synthetic_opportunity(i, seed, customers, at(i, customers // 4)),
            "tasks": lambda i: _synthetic_task(i, seed, customers, at(i, customers // 4)),
            "notes": lambda i: _synthetic_note(i, seed, customers, at(i, customers // 4)),
            "plans": lambda i: _synthetic_plan(i, seed),
            "plan_groups": lambda i: _synthetic_plan_group(i, seed),
            "data_sources": lambda i: _synthetic_data_source(i, base),
        }
        # partitioned views for the data_source_uuid filter; customers are scanned (merged ones are in two sources)
        by_source = {"invoices", "subscription_events", "contacts"}

        def lazily(length: int, make: Callable[[int], dict], data_sources: Sequence[str] = ()) -> Sequence[dict]:
            records = SyntheticRecords(length, make, data_sources)
            return records if lazy else list(records)

        def rows(stream: str) -> Sequence[dict]:
            return lazily(sizes[stream], makers[stream], _DATA_SOURCES if stream in by_source else ())

        deleted: Set[str] = set()

        def subscriptions(match: "re.Match[str]") -> Optional[Route]:
            index = _customer_index(match[1], seed, customers)
            if index is None or match[1] in deleted:
                return None  # not (or no longer) a customer of this account: 404, as ChartMogul answers
            return Route("list", SyntheticRecords(ledger.subscriptions[index],
                                                  lambda j: _synthetic_subscription(index, j, seed, ledger)))

        def metric(name: str) -> Route:
            """A metrics endpoint: its entries per day (the account's), and its buckets of any interval and plans."""
            account = Balances(ledger.account, ledger.first_day)
            daily = lazily(metric_days + 1, lambda d: account.day(name, d))

            def buckets(plans: Optional[List[str]], interval: str, first: date, last: date) -> List[dict]:
                if plans is None:  # the account's: made of its entries per day as they are held (a test may edit them)
                    return account.read_back(name, route.records).entries(name, interval, first, last)
                names = [PLAN_NAMES.index(plan) for plan in plans if plan in PLAN_NAMES]
                if not names:  # ChartMogul documents no answer for plans the account does not have
                    return []
                return Balances(ledger.view(names), ledger.first_day).entries(name, interval, first, last)

            route = Route("metrics", daily, buckets=buckets)
            return route

        routes = {
            "customers": Route("list", rows("customers")),
            "activities": Route("dated", rows("activities"), ordered=True),
            "invoices": Route("list", rows("invoices"), "invoices"),
            "subscription_events": Route("list", rows("subscription_events"), "subscription_events"),
            "contacts": Route("list", rows("contacts")),
            "opportunities": Route("list", rows("opportunities")),
            "tasks": Route("list", rows("tasks")),
            "notes": Route("list", rows("notes")),
            "plans": Route("list", rows("plans"), "plans"),
            "plan_groups": Route("list", rows("plan_groups"), "plan_groups"),
            "data_sources": Route("plain", rows("data_sources"), "data_sources"),
            "account": Route("object", [_ACCOUNT]),
            "metrics/customer-count": metric("customer-count"),
            "metrics/all": metric("all"),
            "metrics/mrr": metric("mrr"),
        }
        days, plan_names = metric_days + 1, len(PLAN_NAMES)
        streams = {**sizes, "account": 1, "customer_count": days, "metrics": days, "mrr": days,
                   "metrics_by_plan": days * plan_names, "mrr_by_plan": days * plan_names,
                   "customer_subscriptions": sum(ledger.subscriptions),
                   "invoice_line_items": sum(_line_item_count(i, seed) for i in range(sizes["invoices"])),
                   "invoice_transactions": sizes["invoices"]}  # one transaction per invoice
        return cls(Routes(routes, {r"customers/(cus_[0-9a-f-]{36})/subscriptions": subscriptions}), streams, deleted, ledger)


# --- synthetic records: each one a function of its index (and the ledger's arrays), cheap enough to build on every
# request ---------------------------------------------------------------------------------------------------------
# Shapes follow ChartMogul's recorded responses (docs/chartmogul.md, the schemas): kebab-case keys where ChartMogul
# uses them, +00:00 offsets on customers/activities/subscriptions, millisecond Z timestamps elsewhere.
_DS = "ds_00000000-0000-4000-8000-000000000001"
_DATA_SOURCES = (_DS, "ds_00000000-0000-4000-8000-000000000002", "ds_00000000-0000-4000-8000-000000000003")
_SYSTEMS = ("Stripe", "Recurly", "Import API")
_PLANS, _PLAN_GROUPS = 30, 6
# Plan i is in data source i % 3 and named PLAN_NAMES[i // 3 % 10] (ledger.py): each name is a plan in every data
# source, as when one product is sold through Stripe, Recurly and the Import API.
_ACCOUNT = {"name": "Example Rockets Ltd", "currency": "USD", "time_zone": "Europe/Berlin", "week_start_on": "monday"}


def _mix(value: int) -> int:
    """A 64-bit hash of value (splitmix64's finaliser): stands in for a random number generator per record."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def _uuid(*parts: int) -> str:
    return str(uuidlib.UUID(int=(_mix(hash(parts)) << 64) | _mix(hash(parts) + 1), version=4))


def _customer_uuid(i: int, seed: int) -> str:
    """`cus_` + a UUID whose last 12 hex digits are i, so a per-customer path leads back to the customer's index."""
    return f"cus_{_uuid(seed, 1, i)[:24]}{i:012x}"


def _customer_index(customer_uuid: str, seed: int, customers: int) -> Optional[int]:
    index = int(customer_uuid[-12:], 16)
    return index if index < customers and _customer_uuid(index, seed) == customer_uuid else None


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _iso_ms(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _owner(i: int, seed: int, salt: int, customers: int) -> int:
    return _mix(seed * salt + i) % max(customers, 1)


def _synthetic_customer(i: int, seed: int, ledger: Ledger, created: int) -> dict:
    """Customer i: its MRR the sum of its active subscriptions' (the ledger's), a customer since its first activity;
    one without subscriptions is a lead, created at `created`."""
    mrr, subscribed = ledger.mrr[i], ledger.subscriptions[i] > 0
    since = ledger.at(ledger.since[SLOTS * i]) if subscribed else None
    source = _DATA_SOURCES[i % 3]
    # every 50th customer was merged from two data sources: ChartMogul lists it under both
    sources = [source, _DATA_SOURCES[(i + 1) % 3]] if i % 50 == 49 else [source]
    return {
        "id": 1_000_000 + i, "uuid": _customer_uuid(i, seed),
        "external_id": f"acct_{i}", "external_ids": [f"acct_{i}"] + ([f"acct_{i}_merged"] if len(sources) > 1 else []),
        "data_source_uuid": source, "data_source_uuids": sources,
        "name": f"Customer {i}", "email": f"billing{i}@example.com", "company": f"Company {i}",
        "status": "Active" if mrr else "Cancelled" if subscribed else "New Lead",
        "customer-since": _iso(since) if since is not None else None,
        "lead_created_at": None if subscribed else _iso_ms(created),
        "free_trial_started_at": _iso_ms(since - 14 * 86_400) if since is not None and i % 3 == 0 else None,
        "country": "US", "state": "CA", "city": "San Francisco", "zip": "94103",
        "address": {"address_zip": "94103", "city": "San Francisco", "state": "California", "country": "United States"},
        "attributes": {"tags": ["generated"], "stripe": {}, "clearbit": {}, "custom": {"Seats": i % 50}},
        "mrr": mrr, "arr": mrr * 12, "billing-system-url": None,
        "chartmogul-url": f"https://app.chartmogul.com/#/customers/{1_000_000 + i}",
        "billing-system-type": _SYSTEMS[i % 3], "currency": "USD", "currency-sign": "$",
        "owner": None, "website_url": None,
    }


_DESCRIBED = {"new_biz": "purchased", "expansion": "expanded on", "contraction": "contracted on",
              "churn": "cancelled", "reactivation": "reactivated"}


def _synthetic_activity(i: int, seed: int, ledger: Ledger) -> dict:
    """Activity i (in date order): one subscription's change, and its customer's MRR after it."""
    owner, kind, after, name = ledger.customer[i], KINDS[ledger.kind[i]], ledger.after[i], ledger.plan_after[i]
    return {
        "uuid": _uuid(seed, 2, i), "date": _iso(ledger.at(i)),
        "type": kind, "description": f"{_DESCRIBED[kind]} the {PLAN_NAMES[name]} plan", "activity-mrr": after,
        "activity-mrr-movement": ledger.movement[i], "activity-arr": after * 12, "currency": "USD",
        "subscription-external-id": f"sub_{owner}_{ledger.slot[i]}", "subscription-set-external-id": None,
        "plan-external-id": f"plan_{3 * name + owner % 3}", "customer-name": f"Customer {owner}",
        "customer-uuid": _customer_uuid(owner, seed), "customer-external-id": f"acct_{owner}",
        "billing-connector-uuid": _DATA_SOURCES[owner % 3],
    }


def _synthetic_invoice(i: int, seed: int, customers: int, when: int) -> dict:
    owner = (3 * (i // 6) + i % 3) % max(customers, 1)  # 2 invoices per customer, in the customer's data source
    h = _mix(seed * 3_000_017 + i)
    items = []
    for k in range(_line_item_count(i, seed)):
        amount = 1_000 + (h >> (8 + k)) % 99_000
        plan = (h >> 16) % _PLANS
        items.append({
            "uuid": f"li_{_uuid(seed, 4, i, k)}", "external_id": f"ii_{i}_{k}", "type": "subscription",
            "subscription_uuid": f"sub_{_uuid(seed, 5, owner, k)}", "subscription_external_id": f"sub_{owner}_{k}",
            "subscription_set_external_id": None, "plan_uuid": f"pl_{_uuid(seed, 6, plan)}",
            "plan_external_id": f"plan_{plan}", "prorated": k > 0, "proration_type": "differential" if k > 0 else None,
            "service_period_start": _iso_ms(when),
            "service_period_end": _iso_ms(when + 30 * 86_400), "amount_in_cents": amount, "quantity": 1 + k,
            "discount_code": None, "discount_amount_in_cents": 0, "discount_description": None,
            "tax_amount_in_cents": amount // 5, "transaction_fees_in_cents": amount // 40,
            "transaction_fees_currency": "USD", "description": f"Plan {plan}", "account_code": None,
            "event_order": None, "balance_transfer": False, "disabled": False, "disabled_at": None,
            "disabled_by": None, "user_created": False,
        })
    return {
        "uuid": f"inv_{_uuid(seed, 3, i)}", "external_id": f"INV-{i:07d}", "customer_uuid": _customer_uuid(owner, seed),
        "customer_external_id": f"acct_{owner}", "data_source_uuid": _DATA_SOURCES[i % 3],
        "date": _iso_ms(when), "due_date": _iso_ms(when + 14 * 86_400), "currency": "USD",
        "collection_method": "automatic", "status": "paid", "errors": {}, "disabled": False, "disabled_at": None,
        "disabled_by": None, "user_created": False, "edit_history_summary": {}, "line_items": items,
        "transactions": [{
            "uuid": f"tr_{_uuid(seed, 7, i)}", "external_id": f"ch_{i}", "type": "payment", "date": _iso_ms(when + 3_600),
            "result": "successful" if h % 17 else "failed", "amount_in_cents": sum(it["amount_in_cents"] for it in items),
            "transaction_fees_in_cents": 0, "transaction_fees_currency": "USD", "disabled": False,
            "disabled_at": None, "disabled_by": None, "user_created": False,
        }],
    }


def _line_item_count(invoice: int, seed: int) -> int:
    return 1 + _mix(seed * 3_000_017 + invoice) % 3


def _synthetic_subscription_event(i: int, seed: int, customers: int, when: int) -> dict:
    h = _mix(seed * 5_000_011 + i)
    owner = (3 * ((h >> 4) % max(customers // 3, 1)) + i % 3) % max(customers, 1)  # a customer of the same source
    kind = ("subscription_start", "subscription_updated", "subscription_cancelled")[h % 3]
    cancelled = kind == "subscription_cancelled"
    amount = 1_000 + (h >> 12) % 99_000
    return {
        "id": 80_000_000 + i, "data_source_uuid": _DATA_SOURCES[i % 3],
        "customer_external_id": f"acct_{owner}", "data_source_customer_external_id": f"acct_{owner}",
        "subscription_set_external_id": None, "subscription_external_id": f"sub_{owner}_{h % 3}",
        "plan_external_id": f"plan_{(h >> 20) % _PLANS}", "event_date": _iso_ms(when),
        "effective_date": _iso_ms(when), "event_type": kind, "external_id": f"evt_{i}", "errors": {},
        "created_at": _iso_ms(when + 60), "updated_at": _iso_ms(when + 120),
        # ChartMogul sends "" instead of null for the amounts of a cancellation
        "quantity": "" if cancelled else 1 + h % 5, "currency": "" if cancelled else "USD",
        "amount_in_cents": "" if cancelled else amount, "tax_amount_in_cents": "" if cancelled else amount // 5,
        "event_order": None, "retracted_event_id": None,
    }


def _synthetic_contact(i: int, seed: int, customers: int, when: int) -> dict:
    owner = (6 * (i // 3) + i % 3) % max(customers, 1)  # every other customer, in the contact's data source
    return {
        "uuid": f"con_{_uuid(seed, 8, i)}", "customer_uuid": _customer_uuid(owner, seed),
        "customer_external_id": f"acct_{owner}", "data_source_uuid": _DATA_SOURCES[i % 3],
        "external_id": f"contact_{i}", "position": 1 + i % 3, "first_name": f"First{i}", "last_name": f"Last{i}",
        "title": "Head of Finance", "email": f"contact{i}@example.com", "phone": "+1 415 555 0100",
        "linked_in": None, "twitter": None, "notes": "Prefers invoices by email.\nRenewal owner.",
        "custom": {"Seats managed": i % 40, "Newsletter": bool(i % 2)}, "last_seen": _iso_ms(when),
    }


def _synthetic_opportunity(i: int, seed: int, customers: int, when: int) -> dict:
    h = _mix(seed * 9_000_001 + i)
    owner = _owner(i, seed, 9_000_011, customers)
    return {
        "uuid": _uuid(seed, 9, i), "customer_uuid": _customer_uuid(owner, seed), "owner": "sales@example.com",
        "pipeline": "New business", "pipeline_stage": ("Discovery", "Proposal", "Negotiation", "Won")[h % 4],
        "estimated_close_date": datetime.fromtimestamp(when + 45 * 86_400, timezone.utc).strftime("%Y-%m-%d"),
        "currency": "USD", "amount_in_cents": 10_000 + (h >> 8) % 990_000, "type": "recurring",
        "forecast_category": "pipeline", "win_likelihood": (h >> 4) % 101, "custom": {"Source": "inbound"},
        "created_at": _iso_ms(when), "updated_at": _iso_ms(when + 86_400),
    }


def _synthetic_task(i: int, seed: int, customers: int, when: int) -> dict:
    owner = _owner(i, seed, 9_100_003, customers)
    return {
        "task_uuid": _uuid(seed, 10, i), "customer_uuid": _customer_uuid(owner, seed),
        "task_details": f"Follow up on renewal {i}", "assignee": "csm@example.com",
        "due_date": _iso_ms(when + 7 * 86_400), "completed_at": _iso_ms(when + 86_400) if i % 2 else None,
        "created_at": _iso_ms(when), "updated_at": _iso_ms(when + 3_600),
    }


def _synthetic_note(i: int, seed: int, customers: int, when: int) -> dict:
    owner = _owner(i, seed, 9_200_017, customers)
    call = i % 4 == 0
    return {
        "uuid": f"note_{_uuid(seed, 11, i)}", "customer_uuid": _customer_uuid(owner, seed),
        "type": "call" if call else "note", "text": f"Spoke about seats.\nNext step {i}.",
        "call_duration": 600 if call else 0, "author": "Ana Example (ana@example.com)",
        "created_at": _iso_ms(when), "updated_at": _iso_ms(when + 600),
    }


def _subscription_count(customer: int, seed: int) -> int:
    return _mix(seed * 9_300_007 + customer) % 4


def _synthetic_subscription(customer: int, j: int, seed: int, ledger: Ledger) -> dict:
    """Subscription j of a customer, as it is at the end of the history: its plan and quantity, active with its MRR or
    inactive (MRR 0) since its cancellation."""
    k = SLOTS * customer + j
    name, quantity, active = ledger.plan[k], ledger.quantity[k], not ledger.until[k]
    plan = 3 * name + customer % 3  # the plan of that name in the customer's data source
    mrr = PRICES[name] * quantity if active else 0
    started, cycle = ledger.at(ledger.since[k]), ("month", "year")[plan % 2]  # as _synthetic_plan's interval_unit
    if active:  # the end of the current billing period
        period = (30 if cycle == "month" else 365) * 86_400
        ended = started + period * max(1, -(-(ledger.start + ledger.span - started) // period))
    else:
        ended = ledger.at(ledger.until[k] - 1)
    return {
        "id": 9_000_000_000 + customer * 4 + j, "uuid": _uuid(seed, 12, customer, j),
        "external_id": f"sub_{customer}_{j}", "subscription_set_external_id": None, "plan": PLAN_NAMES[name],
        "quantity": quantity, "mrr": mrr, "arr": mrr * 12, "status": "active" if active else "inactive",
        "billing-cycle": cycle, "billing-cycle-count": 1, "start-date": _iso(started),
        "end-date": _iso(ended), "currency": "USD", "currency-sign": "$",
    }


def _synthetic_plan(i: int, seed: int) -> dict:
    return {"uuid": f"pl_{_uuid(seed, 6, i)}", "data_source_uuid": _DATA_SOURCES[i % 3], "name": PLAN_NAMES[i // 3 % 10],
            "interval_count": 1, "interval_unit": ("month", "year")[i % 2], "external_id": f"plan_{i}"}


def _synthetic_plan_group(i: int, seed: int) -> dict:
    return {"uuid": f"plg_{_uuid(seed, 13, i)}", "name": f"Group {i}", "plans_count": _PLANS // _PLAN_GROUPS}


def _synthetic_data_source(i: int, created: int) -> dict:
    return {"uuid": _DATA_SOURCES[i], "name": f"{_SYSTEMS[i]} ({i + 1})", "system": _SYSTEMS[i],
            "created_at": _iso_ms(created - 86_400), "status": "idle"}


# --- metrics by plan of recorded rows -------------------------------------------------------------------------
def _rows_of_plans(rows: Sequence[dict], field: str) -> ByPlan:
    """The recorded rows of a stream by plan (expected_records.jsonl), answered one plan at a time."""
    def by_plan(names: List[str]) -> Sequence[dict]:
        assert len(names) == 1, f"recorded metrics by plan answer one plan per request, asked for {names}"
        return [{k: v for k, v in row.items() if k != field} for row in rows if row[field] == names[0]]
    return by_plan
