"""The account behind `Dataset.generate`: its customers' subscriptions over time, the activities that move their MRR,
and the metrics that follow from them, as ChartMogul derives them. Held in compact arrays (the `array` module, a few
bytes per customer and per activity); the records are built from them when they are served (dataset.py).

The model, all amounts in cents of one currency (USD):

- A customer has 0-3 subscriptions (0: a lead, with no activity and no MRR). A subscription is on one plan at a time
  (one of the 10 plan names, in the customer's data source), with a quantity; its MRR is the plan's price per unit
  times the quantity while it is active, 0 once cancelled.
- Each activity is one subscription's change: it starts, changes plan, changes quantity, is cancelled, or comes back.
  Its `activity-mrr` is the customer's MRR after it (the sum of the customer's active subscriptions'), its movement
  the change, and its type follows ChartMogul's meaning: new_biz the customer's first MRR, reactivation MRR from 0
  after a churn, churn MRR going to 0, expansion and contraction any other increase and decrease.
- The customers' timelines: customers subscribe one after another over the history (by index), each with a number
  of changes in proportion to the time left; changes come often at first and then settle, so that the account's
  activities are about evenly spread over its history. About 3 in 10 customers eventually cancel everything (churn),
  some churn once and come back, others add and cancel subscriptions, change plans and seats. The timelines decide
  the activities' order; activity i (of n, in that order) is dated the middle of the i-th n-th of the history, so
  that the dates are evenly spread, in ascending order.
- The metrics, per day of the account's time zone (a day's entry holds the value at its end), for the whole account
  and for any set of plan names (`Tally`): MRR, customers with MRR > 0, the MRR moved by each type of activity and
  how many moved it. For a set of plans, a customer's MRR is that of its subscriptions on those plans, and the types
  follow the same rules on it (a plan change is a churn of the old plan and new business, or a reactivation, of the
  new one, and an expansion or contraction of a set holding both); the plans' MRR adds up to the account's.
- A metrics bucket (day, week, month, quarter, year; `entries`) holds the balances at the end of its last day (MRR,
  ARR, customers, ARPA = MRR / customers), the sums of its days' movements (mrr-new-business, ..., mrr-reactivation),
  and its rates: ASP (the average new business MRR), the customer churn rate (customers churned / customers at its
  start), the net MRR churn rate ((churn + contraction - expansion - reactivation) / MRR at its start, negative when
  the account grew) and the LTV (ARPA / customer churn rate; 0 when nobody churned), each with its change against the
  previous bucket in percent.
"""

import bisect
import heapq
import random
from array import array
from datetime import date, datetime, time, timedelta
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence
from zoneinfo import ZoneInfo

# Plan i of the catalogue (dataset.py) is in data source i % 3 and named PLAN_NAMES[i // 3 % 10]: a customer of data
# source d subscribes to plan 3 * name + d. Names with spaces, parentheses, a colon and non-ASCII letters, as ChartMogul
# accounts have them (sent URL-encoded in the metrics' `plans` filter).
PLAN_NAMES = ("Starter Monthly", "Starter (annual)", "Pro Monthly", "Pro (annual)", "Business Monthly",
              "Business (annual)", "Équipe Plus", "Enterprise", "Add-on: Seats", "Legacy Gold")
PRICES = (2_900, 2_400, 9_900, 8_300, 29_900, 24_900, 14_900, 49_900, 1_200, 4_900)  # MRR per unit, in cents; all distinct
# How often each name is chosen (of 100) when a subscription starts or changes plan.
_POPULARITY = (18, 9, 16, 9, 8, 5, 8, 3, 14, 10)
_PLAN_DRAW = bytes(name for name, weight in enumerate(_POPULARITY) for _ in range(weight))
_SEAT_STEPS = (1, 1, 2, 3, -1, -1, -1, -1, -2)  # a quantity change (9 steps): a seat more or less, now and then a few
# A plan change is an upgrade (11 in 20) or a downgrade to the next plan by price; an add-on changes seats only.
_ADD_ON = PLAN_NAMES.index("Add-on: Seats")
_LADDER = tuple(sorted((name for name in range(len(PLAN_NAMES)) if name != _ADD_ON), key=PRICES.__getitem__))
_RUNG = {name: rung for rung, name in enumerate(_LADDER)}

KINDS = ("new_biz", "expansion", "contraction", "churn", "reactivation")
NEW_BIZ, EXPANSION, CONTRACTION, CHURN, REACTIVATION = range(5)
SLOTS = 3  # subscriptions per customer at most: subscription j of customer c is slot SLOTS * c + j
_PER_ACTIVITY = ("customer", "slot", "plan_after", "quantity_after", "after", "movement", "kind")  # Ledger's arrays
_PER_CUSTOMER = ("subscriptions", "mrr", "plan", "quantity", "since", "until")

_LEAVES, _COMES_BACK = 1, 2  # a customer's traits: cancels everything at the end / churns once and comes back
_CANCEL, _BACK, _PLAN = 0.06, 0.10, 0.35  # a change: cancel one subscription, bring one back, change plan (else seats)
_SETTLE = 0.3  # how fast a customer's changes settle: the next one comes after this share of the expected gap or so
_SCALE = 1 << 31  # the timelines' time (0 to 1) as an integer, above a customer's index (32 bits) in a heap key


class Tally:
    """The metrics of one view of the account (all of it, or a set of plan names), per day of the history:
    `moved[kind][d]` the MRR moved by activities of that kind during day d, `counted[kind][d]` how many moved it,
    `mrr[d]` and `customers[d]` (customers with MRR > 0 in the view) at the end of day d."""

    def __init__(self, days: int) -> None:
        self.moved = [[0] * days for _ in KINDS]
        self.counted = [[0] * days for _ in KINDS]
        self.mrr: List[int] = []
        self.customers: List[int] = []

    def close(self) -> "Tally":
        mrr = customers = 0
        for d in range(len(self.moved[0])):
            mrr += sum(moved[d] for moved in self.moved)
            customers += self.counted[NEW_BIZ][d] + self.counted[REACTIVATION][d] - self.counted[CHURN][d]
            self.mrr.append(mrr)
            self.customers.append(customers)
        return self


class Ledger:
    """The account's subscriptions and activities, and its metrics per day (`view`).

    customers: how many subscriptions each customer would have (0-3); the activities are exactly `activities`, which
    the subscriptions' starts come out of first: when there are fewer activities than subscriptions, the first
    customers keep theirs and the others are leads. start/span: the history, in epoch seconds; first_day/days: the
    metrics' days, in the `time_zone`.

    Per customer c: `subscriptions[c]`, `mrr[c]` (at the end). Per subscription slot (SLOTS * c + j): `plan` (a name's
    index), `quantity`, `since` (the index of the activity that started it) and `until` (1 + the index of the one that
    cancelled it; 0 while active). Per activity i, in date order: `customer`, `slot` (j), `plan` and `quantity` of the
    subscription after it (quantity 0: cancelled), `after` (the customer's MRR after it), `movement`, `kind`.
    """

    def __init__(self, customers: Sequence[int], activities: int, start: int, span: int, first_day: date, days: int,
                 time_zone: str, seed: int) -> None:
        self.activities, self.start, self.span, self.first_day, self.days = activities, start, span, first_day, days
        count = len(customers)
        self.subscriptions = bytearray(count)
        budget = activities
        for c, wanted in enumerate(customers):
            self.subscriptions[c] = min(wanted, budget)
            budget -= self.subscriptions[c]
        if activities and budget == activities:  # nobody subscribes: the first customer does, or nobody can act
            if not count:
                raise ValueError("an account with activities needs customers")
            self.subscriptions[0], budget = 1, budget - 1
        slots = SLOTS * count
        self.mrr = array("i", bytes(4 * count))
        self.plan, self.quantity = bytearray(slots), array("H", bytes(2 * slots))
        self.since, self.until = array("I", bytes(4 * slots)), array("I", bytes(4 * slots))
        self.customer, self.slot, self.plan_after = array("I"), bytearray(), bytearray()
        self.quantity_after, self.after, self.movement, self.kind = array("H"), array("i"), array("i"), bytearray()
        self._live(random.Random(seed), extra=budget)
        assert len(self.kind) == activities
        # The activities of the metrics' day d are first_activity[d] .. first_activity[d + 1] - 1: those from its
        # midnight in the time zone.
        zone, dated = ZoneInfo(time_zone), range(activities)
        self.first_activity = array("I", (
            bisect.bisect_left(dated, datetime.combine(first_day + timedelta(days=d), time.min, tzinfo=zone).timestamp(),
                               key=self.at) for d in range(days + 1)))
        if self.first_activity[0] or self.first_activity[days] != activities:
            raise ValueError(f"the history ({start}, +{span} s) lies outside the metrics' days ({first_day}, {days} days)")
        plans = [frozenset(range(len(PLAN_NAMES))), *(frozenset([name]) for name in range(len(PLAN_NAMES)))]
        self._views: Dict[FrozenSet[int], Tally] = dict(zip(plans, self._tally(plans)))  # the account's, each name's

    # --- reading it -------------------------------------------------------------------------------------------------
    def footprint(self) -> Dict[str, float]:
        """Bytes held per activity, and per customer (its subscriptions' slots included)."""
        def size(names: Sequence[str], per: int) -> float:
            held = (getattr(self, name) for name in names)
            return sum(len(values) * getattr(values, "itemsize", 1) for values in held) / max(per, 1)
        return {"activity": size(_PER_ACTIVITY, self.activities), "customer": size(_PER_CUSTOMER, len(self.subscriptions))}

    def at(self, i: int) -> int:
        """Activity i's date (epoch seconds): the middle of the i-th of `activities` equal parts of the history."""
        return self.start + self.span * (2 * i + 1) // (2 * self.activities)

    def view(self, names: Iterable[int]) -> Tally:
        """The metrics of the subscriptions on these plan names (all of them: the account's)."""
        key = frozenset(names)
        if key not in self._views:
            self._views[key] = self._tally([key])[0]
        return self._views[key]

    @property
    def account(self) -> Tally:
        return self.view(range(len(PLAN_NAMES)))

    # --- making it ----------------------------------------------------------------------------------------------------
    def _live(self, rng: random.Random, extra: int) -> None:
        """Play every subscriber's timeline, all at once in time order, and record each change as an activity."""
        draw = rng.random
        subscribers = array("I", (c for c, n in enumerate(self.subscriptions) if n))
        count = len(self.subscriptions)
        joins = array("d", (0.97 * (c + draw()) / count for c in subscribers))  # when (0 to 1) each one subscribes
        weights = array("d", ((1 - join) * (0.25 + 1.5 * draw()) for join in joins))
        share = extra / (sum(weights) or 1.0)
        left = array("I", bytes(4 * count))  # activities still to come, per customer
        traits = bytearray(count)
        for c, weight in zip(subscribers, weights):
            left[c] = self.subscriptions[c] + int(weight * share)
            traits[c] = (_LEAVES if draw() < 0.3 else 0) | (_COMES_BACK if draw() < 0.3 else 0)
        for _ in range(self.activities - sum(left)):  # what rounding down left over, one each to random subscribers
            left[subscribers[int(draw() * len(subscribers))]] += 1
        heap = [int(join * _SCALE) << 32 | c for c, join in zip(subscribers, joins)]
        del joins, weights, subscribers
        heapq.heapify(heap)
        started = bytearray(count)
        subscriptions, plan, quantity, since, until = self.subscriptions, self.plan, self.quantity, self.since, self.until
        mrr = self.mrr
        record = (self.customer.append, self.slot.append, self.plan_after.append, self.quantity_after.append,
                  self.after.append, self.movement.append, self.kind.append)
        replace, pop = heapq.heapreplace, heapq.heappop
        for i in range(self.activities):
            key = heap[0]
            c, now = key & 0xFFFFFFFF, (key >> 32) / _SCALE
            remaining, wanted, begun, base = left[c], subscriptions[c], started[c], SLOTS * c
            if begun < wanted and (not begun or draw() * remaining < 2 * (wanted - begun)):
                k = base + begun  # the next subscription starts (the first one with the customer's first activity)
                started[c] = begun + 1
                plan[k] = name = _PLAN_DRAW[int(draw() * 100)]
                quantity[k] = seats = _first_quantity(name, draw())
                since[k], old, new = i, 0, PRICES[name] * seats
            else:
                active = [k for k in range(base, base + begun) if not until[k]]
                roll = draw()
                if not active:  # churned: one subscription comes back
                    k = base + int(draw() * begun)
                    until[k], old, new = 0, 0, PRICES[plan[k]] * quantity[k]
                elif (traits[c] & _LEAVES and begun == wanted and remaining <= len(active)) or (
                        roll < _CANCEL and (len(active) > 1 or traits[c] & _COMES_BACK and remaining > 1)):
                    k = active[int(draw() * len(active))]
                    until[k], old, new = i + 1, PRICES[plan[k]] * quantity[k], 0
                    if len(active) == 1:
                        traits[c] &= ~_COMES_BACK
                elif roll < _BACK and len(active) < begun:
                    cancelled = [k for k in range(base, base + begun) if until[k]]
                    k = cancelled[int(draw() * len(cancelled))]
                    until[k], old, new = 0, 0, PRICES[plan[k]] * quantity[k]
                else:
                    k = active[int(draw() * len(active))]
                    was, held = plan[k], quantity[k]
                    if roll < _PLAN and was != _ADD_ON:
                        step = 1 if draw() < 0.55 else -1
                        rung = _RUNG[was] + step if 0 <= _RUNG[was] + step < len(_LADDER) else _RUNG[was] - step
                        plan[k] = name = _LADDER[rung]
                        old, new = PRICES[was] * held, PRICES[name] * held
                    else:
                        seats = held + _SEAT_STEPS[int(draw() * 9)]
                        quantity[k] = seats = seats if 0 < seats < 1_000 else held + 1 if seats < 1 else held - 1
                        old, new = PRICES[was] * held, PRICES[was] * seats
            before = mrr[c]
            mrr[c] = after = before - old + new
            record[0](c)
            record[1](k - base)
            record[2](plan[k])
            record[3](0 if until[k] else quantity[k])
            record[4](after)
            record[5](new - old)
            record[6](NEW_BIZ if not begun else REACTIVATION if not before else CHURN if not after
                      else EXPANSION if new > old else CONTRACTION)
            left[c] = remaining - 1
            if remaining > 1:
                now += (1 - now) * _SETTLE * (0.2 + 1.6 * draw()) / remaining
                replace(heap, int(now * _SCALE) << 32 | c)
            else:
                pop(heap)

    def _tally(self, views: List[FrozenSet[int]]) -> List[Tally]:
        """One pass over the activities: each view's metrics per day (see `Tally`)."""
        names = range(len(PLAN_NAMES))
        of_name = [{v for v, view in enumerate(views) if name in view} for name in names]
        touched = [[sorted(of_name[a] | of_name[b]) for b in names] for a in names]  # by a change from plan a to b
        count = len(self.subscriptions)
        tallies = [Tally(self.days) for _ in views]
        held = [array("i", bytes(4 * count)) for _ in views]  # each customer's MRR in the view
        seen = [bytearray(count) for _ in views]  # whether the customer had MRR in the view before
        sub_plan, sub_mrr = bytearray(SLOTS * count), array("i", bytes(4 * SLOTS * count))
        customer, slot, plan_after, quantity_after = self.customer, self.slot, self.plan_after, self.quantity_after
        for d in range(self.days):
            for i in range(self.first_activity[d], self.first_activity[d + 1]):
                c = customer[i]
                k = SLOTS * c + slot[i]
                was, old = sub_plan[k], sub_mrr[k]
                name = plan_after[i]
                new = PRICES[name] * quantity_after[i]
                sub_plan[k], sub_mrr[k] = name, new
                for v in touched[was][name]:
                    view = views[v]
                    delta = (new if name in view else 0) - (old if was in view else 0)
                    if not delta:
                        continue
                    mrr = held[v]
                    before = mrr[c]
                    mrr[c] = before + delta
                    if not before:
                        kind = REACTIVATION if seen[v][c] else NEW_BIZ
                        seen[v][c] = 1
                    else:
                        kind = CHURN if not mrr[c] else EXPANSION if delta > 0 else CONTRACTION
                    tallies[v].moved[kind][d] += delta
                    tallies[v].counted[kind][d] += 1
        return [tally.close() for tally in tallies]


def _first_quantity(name: int, roll: float) -> int:
    if PLAN_NAMES[name] == "Add-on: Seats":
        return 5 + int(roll * 46)
    if PLAN_NAMES[name] == "Enterprise":
        return 1 + (roll < 0.2)
    return 1 + int(roll ** 3 * 12)  # mostly 1-3 seats, up to 12


# --- metrics buckets ------------------------------------------------------------------------------------------------
def closes_bucket(day: date, interval: str, end: date) -> bool:
    """Whether a day ends a bucket of `interval`: ChartMogul lists one entry per bucket, dated the bucket's last day
    (weeks end on Sunday, as for an account whose weeks start on Monday); the bucket still open at `end`, the request's
    end-date, is dated `end`."""
    if day == end or interval == "day":
        return True
    following = day + timedelta(days=1)
    if interval == "week":
        return day.isoweekday() == 7
    if interval == "month":
        return following.day == 1
    if interval == "quarter":
        return following.day == 1 and following.month in (1, 4, 7, 10)
    return following.timetuple().tm_yday == 1  # year


class Balances:
    """What a metrics endpoint's entries are made of, per day: the balances at the day's end (`mrr`, `customers`) and
    the day's movements (`moved`, `counted`, as in `Tally`). From a tally, or read back from an endpoint's entries per
    day (`read_back`), so that an entry changed in place is what its buckets are made of."""

    def __init__(self, tally: Tally, first_day: date) -> None:
        self.first_day, self.mrr, self.customers = first_day, tally.mrr, tally.customers
        self.moved, self.counted = tally.moved, tally.counted

    def read_back(self, metric: str, days: Sequence[dict]) -> "Balances":
        read = Balances.__new__(Balances)
        read.first_day, read.mrr, read.customers, read.moved, read.counted = (
            self.first_day, self.mrr, self.customers, self.moved, self.counted)
        days = list(days)  # each entry once, however it is held
        if metric in ("mrr", "all"):
            read.mrr = [entry["mrr"] for entry in days]
        if metric in ("customer-count", "all"):
            read.customers = [entry["customers"] for entry in days]
        if metric == "mrr":
            read.moved = [[entry[f"mrr-{flow}"] for entry in days] for flow in _FLOWS]
        return read

    def day(self, metric: str, d: int) -> dict:
        """The entry of `metric` for day d alone (what interval=day lists)."""
        previous = self._values(d - 1, d - 1) if d else None
        return _entry(metric, self.first_day + timedelta(days=d), self._values(d, d), previous)

    def entries(self, metric: str, interval: str, first: date, last: date) -> List[dict]:
        """The entries of `metric` ("customer-count", "mrr" or "all") for the buckets of `interval` that end from
        `first` to `last` (the one still open at `last` dated `last`): each bucket runs from the day after the previous
        one's end (the history's first day for the first), so a bucket that starts before `first` is whole."""
        listed, previous, opened = [], None, 0
        for d in range(len(self.mrr)):
            day = self.first_day + timedelta(days=d)
            if day > last:
                break
            if not closes_bucket(day, interval, last):
                continue
            values = self._values(opened, d)
            if day >= first:
                listed.append(_entry(metric, day, values, previous))
            previous, opened = values, d + 1
        return listed

    def _values(self, first: int, last: int) -> Dict[str, float]:
        mrr, customers = self.mrr[last], self.customers[last]
        mrr_before, customers_before = (self.mrr[first - 1], self.customers[first - 1]) if first else (0, 0)
        moved = [sum(per_day[first:last + 1]) for per_day in self.moved]
        counted = [sum(per_day[first:last + 1]) for per_day in self.counted]
        arpa = round(mrr / customers) if customers else 0
        lost = -(moved[CHURN] + moved[CONTRACTION] + moved[EXPANSION] + moved[REACTIVATION])
        return {
            "mrr": mrr, "arr": 12 * mrr, "customers": customers, "arpa": arpa,
            "asp": round(moved[NEW_BIZ] / counted[NEW_BIZ]) if counted[NEW_BIZ] else 0,
            "customer-churn-rate": round(100 * counted[CHURN] / customers_before, 2) if customers_before else 0.0,
            "mrr-churn-rate": round(100 * lost / mrr_before, 2) if mrr_before else 0.0,
            "ltv": round(arpa * customers_before / counted[CHURN], 2) if counted[CHURN] and customers_before else 0.0,
            **{f"mrr-{flow}": moved[kind] for flow, kind in zip(_FLOWS, range(len(KINDS)))},
        }


_FLOWS = ("new-business", "expansion", "contraction", "churn", "reactivation")  # the mrr columns, in KINDS' order
_ALL = ("mrr", "arr", "customers", "customer-churn-rate", "mrr-churn-rate", "arpa", "asp", "ltv")  # /metrics/all's order


def _change(value: float, before: Optional[float]) -> float:
    """Against the previous bucket, in percent (0.0 without one, or from 0)."""
    return round(100 * (value - before) / before, 2) if before else 0.0


def _entry(metric: str, day: date, values: Dict[str, float], previous: Optional[Dict[str, float]]) -> dict:
    def before(key: str) -> Optional[float]:
        return previous[key] if previous else None

    if metric == "customer-count":
        return {"date": day.isoformat(), "customers": values["customers"],
                "percentage-change": _change(values["customers"], before("customers"))}
    if metric == "mrr":
        return {"date": day.isoformat(), "mrr": values["mrr"], **{f"mrr-{flow}": values[f"mrr-{flow}"] for flow in _FLOWS},
                "percentage-change": _change(values["mrr"], before("mrr"))}
    entry: dict = {"date": day.isoformat()}
    for key in _ALL:
        entry[key], entry[f"{key}-percentage-change"] = values[key], _change(values[key], before(key))
    return entry
