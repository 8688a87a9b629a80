"""Mirror a ChartMogul account into a local DuckDB file with PyAirbyte: the `source-chartmogul-duckdb` command.

    pip install 'airbyte-source-chartmogul[load]'
    source-chartmogul-duckdb --demo                              # a simulated account: no key, no network
    source-chartmogul-duckdb --config secrets/config.json [--db chartmogul.duckdb] [--exclude customer_subscriptions]

PyAirbyte (the `load` extra) runs the `source-chartmogul` command installed with this package and writes one table
per stream. After every successful run each table holds what ChartMogul holds: the streams read in full are
replaced (a record deleted in ChartMogul leaves the table), activities are read incrementally and merged on `uuid`
(the lookback window's activities, read again, stay one row each), and the streams not selected keep their tables
as they were. A run that fails or is interrupted changes nothing in the file.

How: PyAirbyte writes into a scratch copy of the file, beside it (DuckDB's COPY FROM DATABASE; the tables to
replace are dropped from the copy, so PyAirbyte writes them anew); only when the read succeeded is the copy
compacted (COPY FROM DATABASE again) and moved over the file in one rename. The file so stays the size of its data,
run after run. Why not PyAirbyte's write strategies alone, measured: docs/chartmogul.md, "Run it locally".

Before it reads, the command prints what it will read and roughly how many requests that costs; while it reads, a line
per stream done and a running total (standard error; a live line on a terminal); at the end, the rows of each table and
whether it was replaced, merged or kept, the time taken, the file, the account's MRR of the last months and the latest
bucket's MRR by plan (standard output). Table and column names are PyAirbyte's: lower case, other characters replaced
by `_` (`customer-since` becomes `customer_since`).
"""

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import sys
import sysconfig
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from source_chartmogul.hooks import Hook
from source_chartmogul.interruption import Interruption

CONNECTOR = "source-chartmogul"
COMMAND = "source-chartmogul-duckdb"
INSTALL_LOAD_EXTRA = "pip install 'airbyte-source-chartmogul[load]'"
DEFAULT_DB = Path("chartmogul.duckdb")
DEMO_DB = Path("chartmogul-demo.duckdb")
PAGE = 200  # records per request of every cursor-paginated list
PLAN_NAMES = "plans: distinct names"  # in the row counts of the last load: the plans table's distinct names
# The demo's simulated account: small enough to load in well under a minute at ChartMogul's 40 requests per second
# (customer_subscriptions costs one request per customer), large enough to page every list.
DEMO_CUSTOMERS, DEMO_ACTIVITIES, DEMO_DAYS = 300, 3_000, 730


def connector_executable() -> str:
    """The `source-chartmogul` command installed with this package: beside this command, in this Python's scripts
    folder, or on PATH."""
    for folder in (Path(sys.argv[0]).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / CONNECTOR).is_file():
            return str(folder / CONNECTOR)
    found = shutil.which(CONNECTOR)
    if not found:
        raise SystemExit(f"`{CONNECTOR}` is not installed in this environment: reinstall the package ({INSTALL_LOAD_EXTRA}).")
    return found


def _pyairbyte() -> Tuple[Any, Any]:
    """PyAirbyte and its DuckDB cache, imported only when loading: it is large and comes with the `load` extra only."""
    try:
        with warnings.catch_warnings():  # its Google Cloud clients warn about Python versions: not this command's business
            warnings.simplefilter("ignore", FutureWarning)
            import airbyte
            from airbyte.caches import DuckDBCache
    except ModuleNotFoundError as missing:
        if missing.name != "airbyte":
            raise
        raise SystemExit(f"{COMMAND} needs PyAirbyte, which is not installed. Install the package with its `load` extra: "
                         f"{INSTALL_LOAD_EXTRA}") from None
    return airbyte, DuckDBCache


# --- The streams, and what reading each one costs ---------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    """A stream of the connector, as its manifest reads it."""

    name: str
    per: str  # what one request reads: "request" (the whole answer), "page" (of `of`), "customer", "window", "plan name"
    of: str = ""  # the table whose rows tell how many pages or customers there are
    cursor: str = ""  # the cursor field of an incremental stream

    @property
    def incremental(self) -> bool:
        return bool(self.cursor)

    def cost(self, rows: Dict[str, int], since: Optional[date] = None) -> Tuple[str, Optional[int]]:
        """What reading it costs in requests, in words, and roughly how many from the rows of the last load (None
        when they do not tell). For an incremental stream, `since` is where its read starts (None: the start date)."""
        if self.per == "request":
            return "1 request", 1
        if self.per == "plan name":  # one request per distinct name, after the plans list (its pages read again)
            how = "1 request per distinct plan name, and the plans list"
            if PLAN_NAMES in rows:
                return how, rows[PLAN_NAMES] + max(1, math.ceil(rows.get("plans", 0) / PAGE))
            if "plans" in rows:  # at most one per plan: a name is often shared by the plans of several data sources
                return f"{how}; at most 1 per plan", rows["plans"] + max(1, math.ceil(rows["plans"] / PAGE))
            return how, None
        if self.per == "window":
            if since is None:
                return f"1 request per {PAGE} activities in each 10-day window since the start date", None
            windows = max(1, math.ceil((datetime.now(timezone.utc).date() - since).days / 10))
            return f"1 request per {PAGE} activities in each 10-day window since {since}", windows
        unit = "customer, and the customers list" if self.per == "customer" else f"{PAGE} {self.of}"
        how = f"1 request per {unit}" + (f", the {self.of}' pages read again" if self.of != self.name and self.per == "page" else "")
        if self.of not in rows:
            return how, None
        pages = max(1, math.ceil(rows[self.of] / PAGE))
        return how, rows[self.of] + pages if self.per == "customer" else pages


def connector_streams() -> Dict[str, Stream]:
    """The connector's streams in its own order, read from its manifest in this process (no request, no PyAirbyte)."""
    from source_chartmogul.source import SourceChartmogul

    placeholder = {"api_key": "placeholder-key-for-reading-the-manifest", "start_date": "2017-01-25T00:00:00Z", "interval": "month"}
    streams = {}
    for stream in SourceChartmogul(config=placeholder).resolved_manifest["streams"]:
        retriever, parameters = stream["retriever"], stream.get("$parameters", {})
        parents = [p["stream"]["name"] for p in (retriever.get("partition_router") or {}).get("parent_stream_configs", [])
                   if not p.get("request_option")]  # a parent in the path: one chain per parent record
        router = retriever.get("partition_router") or {}
        if router.get("type") == "GroupingPartitionRouter":  # the metrics by plan: one request per distinct plan name
            per, of = "plan name", "plans"
        elif "customers" in parents:
            per, of = "customer", "customers"
        elif retriever.get("paginator", {}).get("type", "NoPagination") == "NoPagination":
            per, of = "request", ""
        elif stream.get("incremental_sync"):
            per, of = "window", stream["name"]
        else:  # a list: its own pages, or (a record expander) the pages of the list its records are nested in
            per, of = "page", parameters.get("endpoint", stream["name"]) if retriever["record_selector"]["extractor"].get("record_expander") else stream["name"]
        streams[stream["name"]] = Stream(stream["name"], per, of, (stream.get("incremental_sync") or {}).get("cursor_field", ""))
    return streams


def choose_streams(available: Dict[str, Stream], only: Optional[str], exclude: Optional[str]) -> List[str]:
    """The streams to read, in the connector's order; an unknown name stops the command at once."""
    def names(option: str, value: Optional[str]) -> List[str]:
        listed = [name.strip() for name in (value or "").split(",") if name.strip()]
        unknown = [name for name in listed if name not in available]
        if unknown:
            raise SystemExit(f"{COMMAND}: {option} names {'streams' if len(unknown) > 1 else 'a stream'} the connector does not have: "
                             f"{', '.join(unknown)}. Valid names: {', '.join(available)}.")
        return listed

    chosen, skipped = names("--streams", only) or list(available), names("--exclude", exclude)
    selected = [name for name in available if name in chosen and name not in skipped]
    if not selected:
        raise SystemExit(f"{COMMAND}: no stream left to read. Valid names: {', '.join(available)}.")
    return selected


# --- Progress, and the connector's own error messages ------------------------------------------------------------------
class Progress:
    """What the read has done so far, on standard error: a line when a stream is done, with its records and the time it
    took, and every `every` seconds a line with the total. It keeps the error messages the connector reports, which
    say what to fix.

    On a terminal the total is a live line at the bottom instead, redrawn in place with the records per stream being
    read (`rich`, which PyAirbyte ships and uses for its own live view), and the lines of the streams done go above
    it. Piped to a file or another program (or with `live=False`), the output is those plain lines only."""

    def __init__(self, out: Optional[TextIO] = None, every: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 live: Optional[bool] = None):
        self.out, self.every, self.clock = out or sys.stderr, every, clock
        self.started = self.last = clock()
        self.records: Dict[str, int] = {}
        self.began: Dict[str, float] = {}  # stream → when it began running: its RUNNING status or first record
        self.queued: Dict[str, float] = {}  # stream → its STARTED status (the CDK starts every stream at once)
        self.complete: List[str] = []
        self.errors: List[str] = []
        self.live = _is_terminal(self.out) if live is None else live
        self._view: Any = None  # rich's Live, from the first record or status on (after the plan is printed)
        self._drawn = 0.0

    def see(self, message: Any) -> None:
        """Count one Airbyte protocol message of the connector: a RECORD, a stream's status, an error."""
        now = self.clock()
        if not self.records and not self.queued and not self.began:
            self.last = now  # the read's first message: the periodic total counts from here, not from the check
        if message.record is not None:
            stream = message.record.stream
            self.began.setdefault(stream, now)
            self.records[stream] = self.records.get(stream, 0) + 1
            if self.live:
                self._draw(now)
            elif now - self.last >= self.every:
                self._print(self.total_line(now))
        elif message.trace is not None and message.trace.stream_status is not None:
            stream, status = message.trace.stream_status.stream_descriptor.name, message.trace.stream_status.status.value
            if status == "STARTED":
                self.queued.setdefault(stream, now)
            elif status == "RUNNING":
                self.began.setdefault(stream, now)
            elif status == "COMPLETE" and stream not in self.complete:
                self.complete.append(stream)
                self._print(self.done_line(stream, now))
        elif message.trace is not None and message.trace.error is not None and message.trace.error.message not in self.errors:
            self.errors.append(message.trace.error.message)

    def done_line(self, stream: str, now: float) -> str:
        count = self.records.get(stream, 0)
        took = now - self.began.get(stream, self.queued.get(stream, self.started))
        return f"[{now - self.started:6.1f} s] {stream} done: {count:,} record{'s' * (count != 1)} in {took:.1f} s"

    def total_line(self, now: float) -> str:
        total, done = sum(self.records.values()), len(self.complete)
        records, streams = f"{total:,} record{'s' * (total != 1)}", f"{done} stream{'s' * (done != 1)}"
        return f"[{now - self.started:6.1f} s] {records} so far, {streams} done"

    def _print(self, line: str) -> None:
        self.last = self.clock()
        if self.live:
            self._start().console.print(line, markup=False, highlight=False, soft_wrap=True)
            self._draw(self.last, force=True)
        else:
            print(line, file=self.out, flush=True)

    def _start(self) -> Any:
        if self._view is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out, force_terminal=True, highlight=False)
            # Whatever else is printed meanwhile (PyAirbyte's lines, on standard output or error) goes above the line.
            self._view = Live(console=console, auto_refresh=False, transient=True, redirect_stdout=True, redirect_stderr=True)
            self._view.start()
        return self._view

    def _draw(self, now: float, force: bool = False) -> None:
        """Redraw the live line, at most 4 times a second: the total, then the streams being read, most records first."""
        if not force and now - self._drawn < 0.25:
            return
        self._drawn = now
        reading = sorted(((n, s) for s, n in self.records.items() if s not in self.complete), reverse=True)
        streams = ", ".join(f"{stream} {count:,}" for count, stream in reading[:4]) + (", ..." if len(reading) > 4 else "")
        from rich.text import Text

        self._start().update(Text(self.total_line(now) + (f"; reading {streams}" if streams else ""), no_wrap=True,
                                  overflow="ellipsis"), refresh=True)

    def close(self) -> None:
        """Take the live line away (the summary or the error follows): a no-op for plain lines."""
        if self._view is not None:
            self._view.stop()
            self._view = None


def _is_terminal(out: TextIO) -> bool:
    try:
        return bool(out.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


# PyAirbyte's functions the loader's message hook was tested against (airbyte 0.71.3; source_chartmogul.hooks): the
# method it wraps, and the one that calls it once per message of the connector, in the main thread.
PEEK_HOOK = Hook("the loader sees each message of the connector", (
    ("airbyte.sources.base:Source._peek_airbyte_message", "5482c697a87ac07da452aeb0f222e066331414645d903f6495fe79cddb47e808"),
    ("airbyte._connector_base:ConnectorBase._execute", "ae16ab0444d248f8fba9c610af20a683561e2fd2badf2c049e2701ab089d1486"),
))


class LoadFailed(Exception):
    """The sync did not complete: the file is as it was. The message says why, in the connector's words."""


class LoadInterruption(Interruption):
    """Ctrl-C and SIGTERM during a load (`source_chartmogul.interruption`), and whether this run replaced the file.

    Raising KeyboardInterrupt once was not enough (measured, benchmarks/interrupt_stress.py; README.md, "Stopping a
    load"): landing in one of DuckDB's queries it became `RuntimeError: Query interrupted`, and the load either failed
    with a traceback (exit 1) or, where that error was caught, went on to the end and replaced the file. So the signal
    is kept: `check()` raises it again at the next safe point (each message of the connector, and just before the file
    is replaced), and `main` reports any run that ended after a signal as interrupted."""

    replaced = False  # the file was replaced by this run's data (a signal came after that)

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        self.replaced = False
        with super().handling():
            yield


INTERRUPTION = LoadInterruption()


# --- The mirror: PyAirbyte writes a scratch copy, which replaces the file only when the read succeeded -----------------
@dataclass
class Result:
    rows: Dict[str, int]  # table → rows: every table of the file, the connector's order
    status: Dict[str, str]  # table → "replaced" (read in full), "merged" (read incrementally), "kept" (not selected)


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _remove(*paths: Path) -> None:
    for path in paths:
        for leftover in (path, Path(f"{path}.wal")):
            leftover.unlink(missing_ok=True)


def _copy_database(duckdb: Any, source: Path, target: Path) -> None:
    """DuckDB's own copy of a whole database into a new file: every table and constraint, written compactly (the
    documented way to give back the space that updates and dropped tables leave inside a DuckDB file)."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH {_sql_path(source)} AS source (READ_ONLY)")
        con.execute(f"ATTACH {_sql_path(target)} AS target")
        con.execute("COPY FROM DATABASE source TO target")


def _row_counts(cache: Any, streams: Sequence[str]) -> Dict[str, int]:
    """Rows of each stream's table in the cache, for the streams that have one (table name → rows)."""
    tables = {row["table_name"] for row in cache.run_sql_query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}
    names = [cache.processor.get_sql_table_name(stream) for stream in streams]
    return {table: int(cache.run_sql_query(f'SELECT COUNT(*) AS n FROM "{table}"')[0]["n"]) for table in names if table in tables}


def mirror(source: Any, cache_class: Any, db_path: Path, streams: Dict[str, Stream], selected: Sequence[str],
           full_refresh: bool, lookback_days: int, plan: Callable[..., None]) -> Result:
    """Read `selected` into `db_path` so that each of their tables holds what ChartMogul holds, or change nothing.

    `plan` is told, before the read, each table's fate (replaced, merged, kept), the rows the file holds now and where
    each merged stream's read starts."""
    import duckdb

    scratch, compacted = (db_path.with_name(f".{db_path.name}.{os.getpid()}.{kind}") for kind in ("tmp", "new"))
    _remove(scratch, compacted)
    try:
        if Path(f"{db_path}.wal").exists():
            # A write-ahead log left by an interrupted writer belongs to the old file: fold it in first, or DuckDB
            # would replay it against the new file after the rename (measured: duplicated rows).
            with duckdb.connect(str(db_path)) as con:
                con.execute("CHECKPOINT")
        if db_path.exists():
            _copy_database(duckdb, db_path, scratch)
        with tempfile.TemporaryDirectory(prefix="pyairbyte-") as batches:
            cache = cache_class(db_path=scratch, cache_dir=Path(batches))
            try:
                table = cache.processor.get_sql_table_name
                before = _row_counts(cache, list(streams))
                status = {table(name): "kept" for name in streams if table(name) in before and name not in selected}
                for name in selected:
                    merged = streams[name].incremental and not full_refresh and table(name) in before
                    status[table(name)] = "merged" if merged else "replaced"
                    if not merged:  # written anew: PyAirbyte creates the table again, so it holds this read's records only
                        cache.execute_sql(f'DROP TABLE IF EXISTS "{table(name)}"')
                states = cache.get_state_provider(source_name=source.name)
                since = {}
                for name in selected:  # where each incremental read starts: the saved cursor, less the lookback window
                    state = states.get_stream_state(name, not_found=None) if status[table(name)] == "merged" else None
                    cursor = getattr(state.stream.stream_state, streams[name].cursor, None) if state else None
                    if cursor:
                        since[name] = date.fromisoformat(cursor[:10]) - timedelta(days=lookback_days)
                plan(status, before, since)
                source.read(cache=cache, write_strategy="auto", force_full_refresh=full_refresh)
                rows = _row_counts(cache, list(streams))
            finally:
                cache.close()
        _copy_database(duckdb, scratch, compacted)
        with INTERRUPTION.deferred():  # interrupted before this, the file is as it was; after it, it is the new one
            INTERRUPTION.check()
            os.replace(compacted, db_path)  # the one moment the file changes: readers see the old file or the new one
            INTERRUPTION.replaced = True
        return Result({t: rows[t] for t in rows if t in status}, {t: status[t] for t in rows if t in status})
    except duckdb.IOException as locked:
        raise LoadFailed(f"{db_path} could not be read or written ({locked}). If another program has it open (a DuckDB "
                         "shell, a notebook), close it and run the command again.") from None
    finally:
        _remove(scratch, compacted)


def load(config: Dict[str, Any], db_path: Path, selected: Sequence[str], streams: Dict[str, Stream],
         full_refresh: bool = False, progress: Optional[Progress] = None, out: TextIO = sys.stderr) -> Result:
    """Check the config, then mirror the `selected` streams into `db_path` (see `mirror`)."""
    # The connector is a local executable: PyAirbyte needs neither its registry nor telemetry.
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
    # PyAirbyte's own progress is a live view on a terminal, which would draw over ours (`Progress`).
    os.environ.setdefault("NO_LIVE_PROGRESS", "1")
    ab, cache_class = _pyairbyte()
    progress = progress or Progress(out=out)
    executable = connector_executable()
    source = ab.get_source(CONNECTOR, config=config, local_executable=executable, streams=list(selected))
    # PyAirbyte has no public hook for the connector's messages: count them, keep its errors, and stop at a Ctrl-C that
    # got lost on its way, where it inspects each one (`_peek_airbyte_message`), if that is still the tested code.
    if PEEK_HOOK.applies(log=lambda message: print(f"{COMMAND}: {message}", file=out, flush=True)):
        inspect = source._peek_airbyte_message

        def count_and_inspect(message: Any, **kwargs: Any) -> None:
            INTERRUPTION.check()  # a Ctrl-C that PyAirbyte or DuckDB turned into something else stops the read here
            progress.see(message)
            inspect(message, **kwargs)

        source._peek_airbyte_message = count_and_inspect

    def print_plan(status: Dict[str, str], rows: Dict[str, int], since: Dict[str, date]) -> None:
        print(f"Reading with {executable} into {db_path}:", file=out)
        print(plan_text(streams, selected, status, {**rows, **plan_names(db_path)}, since), file=out, flush=True)

    try:
        source.check()  # fails fast, with the connector's own message, on a wrong key or setting
        return mirror(source, cache_class, db_path, streams, selected, full_refresh,
                      int(config.get("lookback_window_days", 7)), print_plan)
    except ab.exceptions.AirbyteConnectorCheckFailedError as failed:
        raise LoadFailed(f"the connection check failed: {(failed.context or {}).get('failure_reason') or failed}") from None
    except ab.exceptions.PyAirbyteError as failed:
        reasons = [error for error in progress.errors if not error.startswith("During the sync, the following streams")]
        raise LoadFailed("the sync failed: " + (" | ".join(reasons) or str(failed))) from None
    finally:
        progress.close()


def plan_text(streams: Dict[str, Stream], selected: Sequence[str], status: Dict[str, str], rows: Dict[str, int],
              since: Dict[str, date]) -> str:
    """What the run reads, each stream with its fate and what it costs in requests (roughly how many, from the rows
    of the last load); then what it leaves as it is. (PyAirbyte's table names are the stream names, already snake_case.)"""
    width = max(map(len, selected))
    lines, total, unknown = [], 0, False
    for name in selected:
        how, estimate = streams[name].cost(rows, since.get(name))
        total += estimate or 0
        unknown |= estimate is None
        about = how if estimate is None or streams[name].per == "request" else \
            f"about {estimate:,} request{'s' * (estimate != 1)} ({how.replace('1 request per', '1 per', 1)})"
        lines.append(f"  {name:<{width}}  {status[name]:<8}  {about}")
    skip = ("customer_subscriptions costs one request per customer: add --exclude customer_subscriptions to skip it."
            if "customer_subscriptions" in selected else "")
    if unknown:
        lines.append(f"Where no count is shown it depends on the account's size; the next run estimates it from this one. {skip}".strip())
    else:
        lines.append(f"About {total:,} requests: {math.ceil(total / 38)} s or more at ChartMogul's limit of 40 per second. {skip}".strip())
    kept = [table for table, fate in status.items() if fate == "kept"]
    if kept:
        lines.append(f"Not selected, kept as they are: {', '.join(kept)}.")
    return "\n".join(lines)


# --- The summary ------------------------------------------------------------------------------------------------------
def _tables_and_currency(con: Any) -> Tuple[set, str]:
    """The file's tables, and the currency its amounts are in (the account's, when the account table is there)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    currency = con.execute("SELECT currency FROM account LIMIT 1").fetchone() if "account" in tables else None
    return tables, (currency[0] if currency else "account currency")


def mrr_of_the_last_months(db_path: Path, months: int = 6) -> List[str]:
    """The first query a user runs: MRR at the end of the latest buckets, in the account's currency."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        tables, unit = _tables_and_currency(con)
        if "mrr" not in tables:
            return []
        query = f"SELECT date, mrr FROM mrr ORDER BY date DESC LIMIT {months}"
        rows = con.execute(query).fetchall()
    return [f"MRR of the last {len(rows)} buckets ({unit}; ChartMogul counts in cents):  {query}",
            *(f"  {day}  {cents / 100:>14,.2f}" for day, cents in reversed(rows))]


def plan_names(db_path: Path) -> Dict[str, int]:
    """{PLAN_NAMES: the distinct plan names of the file's plans table}, what the metrics by plan cost in requests; {}
    without a file or table."""
    import duckdb

    if not db_path.exists():
        return {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'plans'").fetchall():
            return {}
        names = con.execute("SELECT COUNT(DISTINCT name) FROM plans WHERE name IS NOT NULL AND name NOT LIKE '%,%'").fetchone()
    return {PLAN_NAMES: int(names[0])}


def mrr_by_plan_of_the_latest_bucket(db_path: Path, shown: int = 10) -> List[str]:
    """The first breakdown a user asks for: each plan's MRR at the latest bucket, largest first, in the account's
    currency (the `shown` largest; the query gives them all)."""
    import duckdb

    query = "SELECT plan, mrr FROM mrr_by_plan WHERE date = (SELECT MAX(date) FROM mrr_by_plan) ORDER BY mrr DESC, plan"
    with duckdb.connect(str(db_path), read_only=True) as con:
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


def summary(result: Result, db_path: Path, seconds: float) -> str:
    """What the file holds now, how each table got there, how long it took, where the file is."""
    db = db_path.resolve()
    width = max(map(len, result.rows), default=5)
    query = f"{sys.executable} -c \"import duckdb; print(duckdb.connect({str(db)!r}).sql('SELECT date, mrr FROM mrr ORDER BY date'))\""
    by_status = {status: [t for t, s in result.status.items() if s == status] for status in ("replaced", "merged", "kept")}
    return "\n".join([
        f"Loaded {sum(result.rows.values()):,} rows into {len(result.rows)} tables in {seconds:.1f} s.", "",
        f"{'table':<{width}}  rows", *(f"{table:<{width}}  {rows}" for table, rows in result.rows.items()), "",
        f"Replaced (read in full): {', '.join(by_status['replaced']) or 'none'}",
        f"Merged on uuid (read incrementally): {', '.join(by_status['merged']) or 'none'}",
        f"Kept from an earlier run (not selected): {', '.join(by_status['kept']) or 'none'}", "",
        f"DuckDB file: {db} ({db.stat().st_size / 1e6:.1f} MB)",
        *mrr_of_the_last_months(db_path),
        *mrr_by_plan_of_the_latest_bucket(db_path),
        f"Query it:    {query}",
        "Update it:   run the same command again (activities incrementally); add --full-refresh to read everything again.",
    ])


# --- The demo: a simulated ChartMogul account on this machine -----------------------------------------------------------
def run_demo(db_path: Path, selected: Sequence[str], streams: Dict[str, Stream], full_refresh: bool) -> Result:
    """Serve a simulated account on a loopback port, in this process, and load it as a real one."""
    from source_chartmogul.simulation import Dataset, SimulatedChartMogul

    today = datetime.now(timezone.utc).date()
    account = Dataset.generate(customers=DEMO_CUSTOMERS, activities=DEMO_ACTIVITIES, metric_days=DEMO_DAYS, end=today)
    key = f"demo_{secrets.token_urlsafe(24)}"  # a throwaway key, which the simulation alone accepts
    with SimulatedChartMogul(account, key, rate_limit=40, max_connections=20) as simulation:
        config = {"api_key": key, "start_date": f"{today - timedelta(days=DEMO_DAYS)}T00:00:00Z", "interval": "month",
                  "api_base_url": simulation.url}
        print(f"Demo: a simulated ChartMogul account ({DEMO_CUSTOMERS} customers, {DEMO_ACTIVITIES:,} activities over "
              f"{DEMO_DAYS // 365} years) served on {simulation.url}, with ChartMogul's limits (40 requests per second, 20 "
              "connections). No API key and no network needed; nothing leaves this machine.", file=sys.stderr, flush=True)
        return load(config, db_path, selected, streams, full_refresh)


def main(argv: Optional[List[str]] = None) -> int:
    # First of all: from here on, Ctrl-C and SIGTERM stop the command with exit 130 and the file as it was.
    with INTERRUPTION.handling():
        return _main(argv)


def _main(argv: Optional[List[str]]) -> int:
    db_path = DEMO_DB
    try:
        parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--config", type=Path,
                            help="connector config JSON: api_key, start_date, interval (see the connector's documentation)")
        source.add_argument("--demo", action="store_true",
                            help="load a simulated ChartMogul account served on this machine: no config, key or network")
        parser.add_argument("--db", type=Path, help=f"DuckDB file (default: {DEFAULT_DB}; with --demo: {DEMO_DB})")
        parser.add_argument("--streams", metavar="A,B,...", help="read only these streams (default: every stream)")
        parser.add_argument("--exclude", metavar="A,B,...",
                            help="do not read these streams, e.g. customer_subscriptions (one request per customer)")
        parser.add_argument("--full-refresh", action="store_true", help="read every selected stream in full, activities included")
        args = parser.parse_args(argv)
        db_path = args.db or (DEMO_DB if args.demo else DEFAULT_DB)

        streams = connector_streams()
        selected = choose_streams(streams, args.streams, args.exclude)
        config = None
        if not args.demo:
            try:
                config = json.loads(args.config.read_text())
            except (OSError, ValueError) as error:
                raise SystemExit(f"Cannot read the config file {args.config}: {error}. It must be a JSON object with "
                                 "api_key, start_date and interval.") from None
        started = time.monotonic()
        result = (run_demo(db_path, selected, streams, args.full_refresh) if args.demo
                  else load(config, db_path, selected, streams, args.full_refresh))
        INTERRUPTION.check()
        print(summary(result, db_path, time.monotonic() - started))
        return 0
    except LoadFailed as failed:
        if not INTERRUPTION.received:
            print(f"{COMMAND}: {failed} {db_path} is unchanged.", file=sys.stderr)
            return 1
    except BaseException:
        if not INTERRUPTION.received:
            raise  # a real error with its traceback, an exit with its message, a KeyboardInterrupt not from a signal
    # Interrupted: whatever the signal turned into on its way (KeyboardInterrupt, DuckDB's "Query interrupted", a
    # connector stopped by it), the file was replaced only if the read had completed before the signal.
    if INTERRUPTION.replaced:
        print(f"{COMMAND}: interrupted after the load had completed; {db_path} holds this run's data.", file=sys.stderr)
    else:
        print(f"{COMMAND}: interrupted; {db_path} is unchanged.", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
