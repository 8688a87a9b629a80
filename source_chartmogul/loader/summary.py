"""What the command prints before it reads (each stream's fate and cost: the connector's own read plan,
`source_chartmogul.read_plan`) and after (the file's tables, what the run did, and the account's first answers)."""

import math
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from source_chartmogul import read_plan
from source_chartmogul.loader import mirror
from source_chartmogul.loader.catalog import Stream

BUDGET_PER_SECOND = 38  # the connector's request budget: at most 38 requests in any second (manifest.yaml, api_budget)


@dataclass
class Result:
    rows: Dict[str, int]  # table → rows: every table of a stream in the file, in the connector's order
    status: Dict[str, str]  # table → "replaced" (read in full), "merged" (read incrementally), "kept" (not read)
    requests: Optional[str] = None  # the connector's own line on the requests it sent
    views_left_out: Dict[str, str] = field(default_factory=dict)  # view → why the file has it not
    start_date: Optional[str] = None  # the config's: where the activities read begins


def account_size(path: Path, streams: Mapping[str, Stream], rows: Mapping[str, int],
                 since: Mapping[str, date]) -> read_plan.Account:
    """What the file says of the account's size, for the read plan's estimates (nothing before a first load)."""
    if not path.exists():
        return read_plan.Account()
    records = {name: rows[name] for name in streams if name in rows}
    per_data_source, plan_names, activities_since = {}, None, None
    with mirror.connect(path, read_only=True) as con:
        columns = {(t, c) for t, c in con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main'").fetchall()}
        split = {read_plan.split_by_data_source(stream.definition) for stream in streams.values()} - {None}
        for name in split & set(records):  # the lists read one chain per data source: their records in each
            if (name, "data_source_uuid") in columns:
                per_data_source[name] = [n for (n,) in con.execute(
                    f'SELECT COUNT(*) FROM main."{name}" GROUP BY data_source_uuid ORDER BY 1').fetchall()]
        if ("plans", "name") in columns:  # the names a request can name alone (connector: PlanNamesFilter)
            plan_names = con.execute("SELECT COUNT(DISTINCT name) FROM main.plans WHERE name <> '' AND name NOT LIKE '%,%'").fetchone()[0]
        for name, day in since.items():
            if (name, streams[name].cursor_field) in columns:
                activities_since = con.execute(f'SELECT COUNT(*) FROM main."{name}" WHERE "{streams[name].cursor_field}" >= '
                                               f"DATE '{day.isoformat()}'").fetchone()[0]
    return read_plan.Account(records, per_data_source, plan_names, activities_since)


def plan(streams: Mapping[str, Stream], selected: Sequence[str], status: Mapping[str, str], rows: Mapping[str, int],
         path: Path, state: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    """The plan of a run: what each selected stream costs (`read_plan.costs`, estimated from what the file holds) and
    what the run does to each table. A setting the connector would refuse is ignored here: the read says what is wrong."""
    days = config.get("lookback_window_days", 7)
    lookback = timedelta(days=days if isinstance(days, int) else 7)
    since = {}
    for message in state:  # where an incremental read starts: the saved cursor, less the lookback window
        stream = message["stream"]
        name = stream["stream_descriptor"]["name"]
        cursor = _day((stream.get("stream_state") or {}).get(streams[name].cursor_field) if name in streams else None)
        if cursor:
            since[name] = cursor - lookback
    account = account_size(path, streams, rows, since)
    start_date = _day(config.get("start_date"))
    costs = read_plan.costs({n: s.definition for n, s in streams.items()}, selected, account, since, start_date=start_date)
    return plan_text(costs, status)


def _day(text: Any) -> Optional[date]:
    """The day a `2017-01-25T00:00:00Z` timestamp falls on (None for anything else)."""
    try:
        return date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return None


def plan_text(costs: Sequence[read_plan.Cost], status: Mapping[str, str]) -> str:
    """What the run reads, each stream with its fate and cost in requests (roughly how many, once a load told the
    account's size), then what it leaves as it is."""
    width = max(len(cost.stream) for cost in costs)
    lines, total, unknown = [], 0, False
    for cost in costs:
        total += cost.requests or 0
        unknown |= cost.requests is None
        if cost.requests is None or cost.exact:
            about = cost.how
        else:
            about = f"about {cost.requests:,} request{'s' * (cost.requests != 1)} ({cost.how.replace('1 request per', '1 per', 1)})"
        lines.append(f"  {cost.stream:<{width}}  {status[cost.stream]:<8}  {about}")
    skip = ("customer_subscriptions costs one request per customer: add --exclude customer_subscriptions to skip it."
            if any(cost.stream == "customer_subscriptions" for cost in costs) else "")
    if unknown:
        lines.append(f"Where no count is shown it depends on the account's size; the next run estimates it from this one. {skip}".strip())
    else:
        lines.append(f"About {total:,} requests: {math.ceil(total / BUDGET_PER_SECOND)} s or more at ChartMogul's limit of "
                     f"40 per second. {skip}".strip())
    kept = [table for table, fate in status.items() if fate == "kept"]
    if kept:
        lines.append(f"Not selected, kept as they are: {', '.join(kept)}.")
    return "\n".join(lines)


def _tables_and_currency(con: Any) -> tuple:
    """The file's tables, and the currency its amounts are in (the account's, when the account table is there)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    currency = con.execute("SELECT currency FROM main.account LIMIT 1").fetchone() if "account" in tables else None
    return tables, (currency[0] if currency else "account currency")


def mrr_of_the_last_months(con: Any, months: int = 6) -> List[str]:
    """The first query a user runs: MRR at the end of the latest buckets, in the account's currency."""
    tables, unit = _tables_and_currency(con)
    if "mrr" not in tables:
        return []
    query = f"SELECT date, mrr FROM mrr ORDER BY date DESC LIMIT {months}"
    rows = con.execute(query).fetchall()
    return [f"MRR of the last {len(rows)} buckets ({unit}; ChartMogul counts in cents):  {query}",
            *(f"  {day}  {cents / 100:>14,.2f}" for day, cents in reversed(rows))]


def mrr_by_plan_of_the_latest_bucket(con: Any, shown: int = 10) -> List[str]:
    """The first breakdown a user asks for: each plan's MRR at the latest bucket, largest first, in the account's
    currency (the `shown` largest; the query gives them all)."""
    query = "SELECT plan, mrr FROM mrr_by_plan WHERE date = (SELECT MAX(date) FROM mrr_by_plan) ORDER BY mrr DESC, plan"
    tables, unit = _tables_and_currency(con)
    if "mrr_by_plan" not in tables:
        return []
    latest = con.execute("SELECT MAX(date) FROM mrr_by_plan").fetchone()[0]
    rows = con.execute(query).fetchall()
    if not rows:
        return []
    width = max(len(str(plan)) for plan, _ in rows[:shown])
    more = f"; {len(rows) - shown} more plans: run the query" if len(rows) > shown else ""
    return [f"MRR by plan at {latest} ({unit}), largest first{more}:  {query}",
            *(f"  {str(plan):<{width}}  {(cents or 0) / 100:>14,.2f}" for plan, cents in rows[:shown])]


def _has_view(con: Any, name: str) -> bool:
    return bool(con.execute(f"SELECT 1 FROM duckdb_views() WHERE NOT internal AND view_name = '{name}'").fetchall())


def _money(cents: Any) -> str:
    return f"{(cents or 0) / 100:,.2f}"


def movements_of_the_last_months(con: Any, months: int = 6) -> List[str]:
    """What moved MRR in the last months (the `mrr_movements` view), as a small waterfall."""
    if not _has_view(con, "mrr_movements"):
        return []
    _, unit = _tables_and_currency(con)
    zone = con.execute("SELECT coalesce(max(time_zone), 'UTC') FROM account").fetchone()[0]
    rows = con.execute(f"SELECT * FROM (SELECT * FROM mrr_movements ORDER BY month DESC LIMIT {months}) ORDER BY month").fetchall()
    if not rows:
        return []
    header = ("new business", "expansion", "contraction", "churn", "reactivation", "net", "ending MRR")
    widths = [max(len(h), 12) for h in header]
    lines = [f"MRR movements of the last {len(rows)} months ({unit}; months in {zone}):  SELECT * FROM mrr_movements ORDER BY month",
             "  month    " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for month, starting, *moves, ending in rows:
        values = [*moves, ending - starting, ending]
        lines.append(f"  {month:%Y-%m}  " + "  ".join(_money(v).rjust(w) for v, w in zip(values, widths)))
    return lines


def check_of_the_activities(con: Any, start_date: Optional[str]) -> List[str]:
    """The `mrr_check` view's verdict: whether the activities explain ChartMogul's MRR in every month, and if not,
    which months differ, by how much, why that may be and what to do."""
    if not _has_view(con, "mrr_check"):
        return []
    rows = con.execute("SELECT month, from_activities, from_chartmogul, difference FROM mrr_check ORDER BY month").fetchall()
    if not rows:
        return []
    query = "SELECT * FROM mrr_check WHERE difference <> 0"
    differing = [row for row in rows if row[3] != 0]
    months = f"{len(rows)} month{'s' * (len(rows) != 1)}"
    if not differing:
        return [f"Check: the activities explain ChartMogul's MRR in every month ({months} with an mrr bucket; SELECT * FROM mrr_check)."]
    if len(differing) == len(rows) and len({row[3] for row in rows}) == 1:
        since = f" ({start_date[:10]})" if start_date else ""
        return [f"Check: ChartMogul's MRR is {_money(rows[0][3])} more than the activities' in every month ({months}; {query}): "
                f"the activities before start_date{since} were not loaded, and they account for {_money(rows[0][3])} of MRR. "
                "To load them, set start_date in the config to the account's first day or earlier, and run the command again "
                "with --full-refresh."]
    currencies = sorted(c for (c,) in con.execute("SELECT DISTINCT currency FROM activities WHERE currency IS NOT NULL").fetchall())
    listed = ", ".join(f"{month:%Y-%m} ({_money(difference)})" for month, _, _, difference in differing[:6])
    more = f" and {len(differing) - 6} more" if len(differing) > 6 else ""
    lines = [f"Check: the activities do not explain ChartMogul's MRR in {len(differing)} of {months} ({query}): "
             f"the difference, ChartMogul's MRR less the activities', is {listed}{more}."]
    if len(currencies) > 1:
        lines.append(f"  The account has amounts in several currencies ({', '.join(currencies)}): ChartMogul records no movement "
                     "for exchange-rate changes (it shows them as exchange-rate impact), so a difference that drifts from "
                     "month to month with the rates is that, not missing data. A difference that appears in one month and "
                     "stays the same after it is missing activities: run the command again with --full-refresh.")
    else:
        lines.append("  Activities are missing or stale from the first of these months on: ChartMogul recomputes activities when "
                     "a data source is re-imported or customers are merged, and an incremental read does not see the ones it "
                     "removed. Run the command again with --full-refresh to read every activity anew.")
    return lines


def summary(result: Result, db_path: Path, seconds: float) -> str:
    """What the file holds now, how each table got there, how long it took, where the file is."""
    db = db_path.resolve()
    width = max(map(len, result.rows), default=5)
    query = f"{sys.executable} -c \"import duckdb; print(duckdb.connect({str(db)!r}).sql('SELECT date, mrr FROM mrr ORDER BY date'))\""
    by_status = {status: [t for t, s in result.status.items() if s == status] for status in ("replaced", "merged", "kept")}
    with mirror.connect(db_path, read_only=True) as con:
        answers = [*mrr_of_the_last_months(con), *mrr_by_plan_of_the_latest_bucket(con), *movements_of_the_last_months(con),
                   *check_of_the_activities(con, result.start_date)]
    left_out = [f"View left out: {view}: {why}." for view, why in result.views_left_out.items()]
    return "\n".join([
        f"Loaded {sum(result.rows.values()):,} rows into {len(result.rows)} tables in {seconds:.1f} s.", "",
        f"{'table':<{width}}  rows", *(f"{table:<{width}}  {rows}" for table, rows in result.rows.items()), "",
        f"Replaced (read in full): {', '.join(by_status['replaced']) or 'none'}",
        f"Merged on uuid (read incrementally): {', '.join(by_status['merged']) or 'none'}",
        f"Kept from an earlier run (not selected): {', '.join(by_status['kept']) or 'none'}",
        *([result.requests] if result.requests else []), "",
        f"DuckDB file: {db} ({db.stat().st_size / 1e6:.1f} MB)",
        *answers,
        *left_out,
        f"Query it:    {query}",
        "Update it:   run the same command again (activities incrementally); add --full-refresh to read everything again.",
    ])
