"""What the fake serves: one `Route` per endpoint, with the records it lists and how it lists them."""

import random
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Dict, List, Literal

# list: cursor-paginated; dated: cursor-paginated and filtered by start-date/end-date on `date`;
# metrics: unpaginated, filtered by start-date/end-date (both required) and needing `interval`;
# plain: the whole list in one response, no pagination (data_sources).
Kind = Literal["list", "dated", "metrics", "plain"]


@dataclass
class Route:
    kind: Kind
    records: List[dict]
    records_key: str = "entries"


@dataclass
class Dataset:
    """Endpoint path below /v1 (e.g. "customers", "metrics/customer-count") → Route."""

    routes: Dict[str, Route] = field(default_factory=dict)

    @classmethod
    def generate(cls, customers: int = 200, activities: int = 2_000, metric_days: int = 730,
                 end: date = date(2026, 11, 1), seed: int = 7) -> "Dataset":
        """A synthetic account: customers, activities spread over `metric_days` before `end`, daily metrics."""
        rng = random.Random(seed)
        start = datetime.combine(end - timedelta(days=metric_days), datetime.min.time(), tzinfo=timezone.utc)
        span = metric_days * 86_400
        customer_rows = [_customer(i, rng, start + timedelta(seconds=span * i // max(customers, 1)))
                         for i in range(customers)]
        activity_rows = sorted(
            (_activity(i, rng, customer_rows[rng.randrange(customers)] if customers else None,
                       start + timedelta(seconds=rng.randrange(span)))
             for i in range(activities)),
            key=lambda a: a["date"],
        )
        days = [end - timedelta(days=d) for d in range(metric_days, -1, -1)]
        count = [{"date": d.isoformat(), "customers": 100 + i, "percentage-change": round(100 / (100 + i), 2)}
                 for i, d in enumerate(days)]
        return cls({
            "customers": Route("list", customer_rows),
            "activities": Route("dated", activity_rows),
            "metrics/customer-count": Route("metrics", count),
        })


def _customer(i: int, rng: random.Random, since: datetime) -> dict:
    mrr = rng.randrange(0, 50_000)
    return {
        "id": 1_000_000 + i, "uuid": f"cus_{uuidlib.UUID(int=rng.getrandbits(128))}",
        "external_id": f"acct_{i}", "external_ids": [f"acct_{i}"],
        "data_source_uuid": "ds_00000000-0000-4000-8000-000000000001",
        "data_source_uuids": ["ds_00000000-0000-4000-8000-000000000001"],
        "name": f"Customer {i}", "email": f"billing{i}@example.com", "company": f"Company {i}",
        "status": "Active" if mrr else "Cancelled", "customer-since": since.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "lead_created_at": None, "free_trial_started_at": None,
        "country": "US", "state": "CA", "city": "San Francisco", "zip": "94103",
        "address": {"address_zip": "94103", "city": "San Francisco", "state": "California", "country": "United States"},
        "attributes": {"tags": ["generated"], "stripe": {}, "clearbit": {}, "custom": {"Seats": i % 50}},
        "mrr": mrr, "arr": mrr * 12, "billing-system-url": None,
        "chartmogul-url": f"https://app.chartmogul.com/#/customers/{1_000_000 + i}",
        "billing-system-type": "Import API", "currency": "USD", "currency-sign": "$",
        "owner": None, "website_url": None,
    }


def _activity(i: int, rng: random.Random, customer: dict, when: datetime) -> dict:
    kind = rng.choice(["new_biz", "expansion", "contraction", "churn", "reactivation"])
    movement = rng.randrange(100, 10_000) * (-1 if kind in ("contraction", "churn") else 1)
    after = 0 if kind == "churn" else abs(movement)
    return {
        "uuid": str(uuidlib.UUID(int=rng.getrandbits(128))), "date": when.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "type": kind, "description": f"{kind} on plan Gold", "activity-mrr": after,
        "activity-mrr-movement": movement, "activity-arr": after * 12, "currency": "USD",
        "subscription-external-id": f"sub_{i}", "subscription-set-external-id": None,
        "plan-external-id": "gold_monthly", "customer-name": customer["name"] if customer else None,
        "customer-uuid": customer["uuid"] if customer else None,
        "customer-external-id": customer["external_id"] if customer else None,
        "billing-connector-uuid": "ds_00000000-0000-4000-8000-000000000001",
    }
