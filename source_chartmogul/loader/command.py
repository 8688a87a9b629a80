"""Mirror a ChartMogul account into a local DuckDB file: the `source-chartmogul-duckdb` command.

    pip install 'airbyte-source-chartmogul[load]'
    source-chartmogul-duckdb --demo                              # a simulated account: no key, no network
    source-chartmogul-duckdb --config secrets/config.json [--db chartmogul.duckdb] [--exclude customer_subscriptions]

It runs the `source-chartmogul` command installed with this package (one `read`) and writes one table per stream with
DuckDB alone. After every successful run each table holds what ChartMogul holds: the streams read in full are
replaced, activities are read incrementally and merged on `uuid`, and the streams not selected keep their tables as
they were (`mirror`). A run that fails or is interrupted changes nothing in the file.

Before it reads, it prints what it will read and what that costs in requests; while it reads, a line per stream done
and a running total (standard error; a live line on a terminal); at the end, the rows of each table and whether it was
replaced, merged or kept, the requests the connector sent, the time taken, the file, the account's MRR of the last
months and the latest bucket's MRR by plan (standard output).
"""

import argparse
import contextlib
import importlib.util
import json
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Sequence

from source_chartmogul.interruption import Interruption
from source_chartmogul.loader import LoadFailed

COMMAND = "source-chartmogul-duckdb"
DEFAULT_DB = Path("chartmogul.duckdb")
DEMO_DB = Path("chartmogul-demo.duckdb")
# The demo's simulated account: small enough to load in well under a minute at ChartMogul's 40 requests per second
# (customer_subscriptions costs one request per customer), large enough to page every list.
DEMO_CUSTOMERS, DEMO_ACTIVITIES, DEMO_DAYS = 300, 3_000, 730


class LoadInterruption(Interruption):
    """Ctrl-C and SIGTERM during a load (`source_chartmogul.interruption`), and whether this run replaced the file.

    A signal is kept, not only raised once: landing in one of DuckDB's queries it may become `RuntimeError: Query
    interrupted` (measured, benchmarks/interrupt_stress.py), so `check()` raises it again at the next safe point (each
    message of the connector, and just before the file is replaced), and `main` reports any run that ended after a
    signal as interrupted."""

    replaced = False  # the file was replaced by this run's data (a signal came after that)

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        self.replaced = False
        with super().handling():
            yield


INTERRUPTION = LoadInterruption()


def load(config: Mapping[str, Any], db_path: Path, selected: Sequence[str], full_refresh: bool = False,
         out: Any = None) -> Any:
    """Read the `selected` streams with the connector into `db_path` (see `mirror`), printing the plan and progress
    on `out` (standard error). Returns the summary's `Result`; raises LoadFailed, the file unchanged."""
    from source_chartmogul.loader import catalog, connector, mirror, summary, tables
    from source_chartmogul.loader.progress import Progress

    out = out or sys.stderr
    streams = catalog.streams()
    chosen = [streams[name] for name in selected]
    before = mirror.Before.of(db_path)
    status = {tables.table_name(s): "kept" for s in streams.values() if tables.table_name(s) in before.rows and s.name not in selected}
    merged = [s for s in chosen if s.incremental and not full_refresh and tables.table_name(s) in before.rows]
    for stream in chosen:
        status[tables.table_name(stream)] = "merged" if stream in merged else "replaced"
    state = [message for message in (mirror.saved_state(before.states.get(s.name, "")) for s in merged) if message]
    # Incremental streams are always read incrementally: without a state that is a read from start_date, which ends
    # with a cursor to continue from (a full refresh would end with none).
    request = catalog.configured_catalog(chosen, [s.name for s in chosen if s.incremental])
    try:
        command = connector.executable()
    except connector.ConnectorMissing as missing:
        raise SystemExit(f"{COMMAND}: {missing}") from None

    with contextlib.ExitStack() as stack:
        read = stack.enter_context(connector.ConnectorRead(command, config, request, state or None))
        print(f"Reading with {command} into {db_path}:", file=out)
        print(summary.plan(streams, selected, status, before.rows, db_path, state, config), file=out, flush=True)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="source-chartmogul-duckdb-")))
        new = stack.enter_context(mirror.NewFile(db_path, chosen, folder))
        inserts = tables.Inserts(new.cursor())
        stack.callback(inserts.abandon)  # on any way out but the one below, which finishes them first
        spools = {s.name.encode(): tables.Spool(s, folder, inserts) for s in chosen}
        progress = Progress(lambda: {s.stream.name: s.records for s in spools.values()}, out=out)
        progress.start()
        stack.callback(progress.close)

        def stream_status(stream: str, state: str) -> None:
            progress.status(stream, state)
            if state == "COMPLETE" and stream.encode() in spools:
                spools[stream.encode()].flush()  # its last records go into its table while the others are read

        said = connector.follow(read, {name: spool.write for name, spool in spools.items()}, stream_status, progress.print,
                                INTERRUPTION.check)
        if said.error is not None:  # leaving the block stops the connector
            raise LoadFailed(f"the read failed: {said.error}")
        exit_status = read.wait()
        INTERRUPTION.check()
        if exit_status != 0:
            if connector.stopped_by_signal(exit_status):
                raise KeyboardInterrupt
            raise LoadFailed(f"the connector ended with exit status {exit_status} before the read was complete: "
                             f"{read.stderr_tail() or 'it printed nothing on its standard error'}")
        progress.close()
        for spool in spools.values():
            spool.flush()
        inserts.finish()
        rows = new.finish(merged, said.states)
        with INTERRUPTION.deferred():  # interrupted before this, the file is as it was; after it, it is the new one
            INTERRUPTION.check()
            new.replace()
            INTERRUPTION.replaced = True
    ordered = {tables.table_name(s): rows[tables.table_name(s)] for s in streams.values() if tables.table_name(s) in rows}
    return summary.Result(ordered, {table: status[table] for table in ordered if table in status}, said.requests,
                          new.views_left_out, config.get("start_date"))


def run_demo(db_path: Path, selected: Sequence[str], full_refresh: bool) -> Any:
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
        return load(config, db_path, selected, full_refresh)


def main(argv: Optional[List[str]] = None) -> int:
    # First of all: from here on, Ctrl-C and SIGTERM stop the command with exit 130 and the file as it was.
    with INTERRUPTION.handling():
        return _main(argv)


def _main(argv: Optional[List[str]]) -> int:
    db_path: Optional[Path] = None  # known once the options are read
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

        if importlib.util.find_spec("duckdb") is None:
            raise SystemExit(f"{COMMAND} needs DuckDB, which is not installed. Install the package with its `load` extra: "
                             "pip install 'airbyte-source-chartmogul[load]'")
        # Imported after Ctrl-C is handled, whole: a KeyboardInterrupt in the middle of DuckDB's own import left the
        # process hanging at its exit, or crashing (measured: benchmarks/interrupt_stress.py, 1 load in 30; a Ctrl-C
        # sent during `import duckdb` alone). Held back meanwhile (about 0.1 s), a signal stops the command right after.
        with INTERRUPTION.deferred():
            import duckdb  # noqa: F401

            from source_chartmogul.loader import catalog, connector, mirror, progress, summary, tables  # noqa: F401
            if args.demo:
                from source_chartmogul import simulation  # noqa: F401
        INTERRUPTION.check()
        try:
            selected = catalog.choose(catalog.streams(), args.streams, args.exclude)
        except ValueError as wrong:
            raise SystemExit(f"{COMMAND}: {wrong}") from None
        config = None
        if not args.demo:
            try:
                config = json.loads(args.config.read_text())
            except (OSError, ValueError) as error:
                raise SystemExit(f"Cannot read the config file {args.config}: {error}. It must be a JSON object with "
                                 "api_key, start_date and interval.") from None
        started = time.monotonic()
        result = run_demo(db_path, selected, args.full_refresh) if args.demo else load(config, db_path, selected, args.full_refresh)
        INTERRUPTION.check()
        print(summary.summary(result, db_path, time.monotonic() - started))
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
        print(f"{COMMAND}: interrupted; {f'{db_path} is unchanged' if db_path else 'nothing changed'}.", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
