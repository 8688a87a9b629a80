#!/usr/bin/env python
"""DuckDB load benchmark: `source-chartmogul-duckdb` against the connector's own `read` of the same streams, from the
same simulated account, in the same run.

    .venv/bin/python benchmarks/load_benchmark.py                  # 250 ms with the limits, then latency 0 (about 5 minutes)
    .venv/bin/python benchmarks/load_benchmark.py --latency 0      # one setting only
    .venv/bin/python benchmarks/load_benchmark.py --scale 10 --latency 0 --no-read   # the loader on the account x10
    .venv/bin/python benchmarks/load_benchmark.py --demo           # the demo: time to its first record, from its last to exit
    .venv/bin/python benchmarks/load_benchmark.py --only customers,activities --customers 2000 --activities 20000

The account is the sync benchmark's (benchmarks/sync_benchmark.py: 20,000 customers, 200,000 activities over two
years, interval=day; `--scale` multiplies customers and activities), served by the simulation
(`source_chartmogul.simulation.SimulationProcess`) from a process of its own. The selection is every stream but
customer_subscriptions (one request per customer: `--only` to choose). For each latency:

1. the connector alone: `source-chartmogul read` of the selection (its activities incrementally, from start_date), its
   output counted per stream: wall time, the connector's CPU and peak RSS, records per stream;
2. the loader's first load into a new file: wall time; the loader process's own CPU and peak RSS (the process alone,
   `getrusage(RUSAGE_SELF)` at its exit), and its connector's (`RUSAGE_CHILDREN`); rows per table;
3. the update run on that file (activities merged from the saved state; the rest read again): the same.

Each loader run is a fresh `python` process running the command's `main` (what the console script runs), the
connector its own child process, as for a user. `--demo` runs `source-chartmogul-duckdb --demo` the same way and
reports when its first record was written and its last, against the process's start and exit.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from source_chartmogul.loader import catalog  # noqa: E402
from source_chartmogul.loader.connector import RECORD_PREFIX, executable  # noqa: E402
from source_chartmogul.simulation import SimulationProcess  # noqa: E402

API_KEY = "bench_cm_Qw7Er5Ty3Ui1Op9As8Df6Gh4Jk2Lz0X"  # made up; the simulation accepts whatever it is given
ACCOUNT_END = date(2026, 11, 1)
START_DATE = "2017-01-25T00:00:00Z"  # before the account's first day: every record is read

# Runs the command's main in a fresh process and reports the process's own resources, and its children's, in a file.
# With --stamp-records it also reports when the first and the last record were written (the demo's figures).
LOADER = """
import json, os, resource, sys, time
from source_chartmogul.loader import command, tables
stamps = []
if os.environ.get("STAMP_RECORDS"):
    write = tables.Spool.write
    def stamped(self, line):
        if not stamps:
            stamps.append(time.time())
        write(self, line)
        stamps[1:] = [time.time()]
    tables.Spool.write = stamped
code = command.main(sys.argv[1:])
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
with open(os.environ["LOADER_REPORT"], "w") as report:
    json.dump({"code": code, "cpu_s": own.ru_utime + own.ru_stime, "peak_rss_mb": own.ru_maxrss / 1024,
               "connector_cpu_s": children.ru_utime + children.ru_stime, "connector_peak_rss_mb": children.ru_maxrss / 1024,
               "first_record": stamps[0] if stamps else None, "last_record": stamps[-1] if stamps else None,
               "exited": time.time()}, report)
sys.exit(code)
"""


def _config(folder: Path, url: str) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps({"api_key": API_KEY, "start_date": START_DATE, "interval": "day", "api_base_url": url}))
    return path


def connector_read(folder: Path, url: str, selection: list) -> dict:
    """`source-chartmogul read` of the selection, its output counted per stream by this process."""
    streams = catalog.streams()
    request = catalog.configured_catalog([streams[n] for n in selection], [n for n in selection if streams[n].incremental])
    (folder / "catalog.json").write_text(json.dumps(request))
    started = time.perf_counter()
    process = subprocess.Popen([executable(), "read", "--config", str(_config(folder, url)), "--catalog",
                                str(folder / "catalog.json")], stdout=subprocess.PIPE, bufsize=1024 * 1024)
    records, start = {}, len(RECORD_PREFIX)
    for line in process.stdout:
        if line.startswith(RECORD_PREFIX):
            name = line[start:line.find(b'"', start)].decode()
            records[name] = records.get(name, 0) + 1
    _, status, usage = os.wait4(process.pid, 0)  # this process's own resources, not every child's so far
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"code": process.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "records": records}


def loader_run(folder: Path, db: Path, args: list, stamp: bool = False) -> dict:
    report = folder / "report.json"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "LOADER_REPORT": str(report), **({"STAMP_RECORDS": "1"} if stamp else {})}
    started_at, started = time.time(), time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", LOADER, "--db", str(db), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    measured = json.loads(report.read_text()) if report.exists() else {}
    if process.returncode != 0:
        raise SystemExit(f"the loader failed ({process.returncode}):\n{stderr[-3000:]}")
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = {name: con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_airbyte')").fetchall()}
    return {**measured, "wall_s": wall, "started_at": started_at, "rows": rows, "size_mb": db.stat().st_size / 1e6,
            "stdout": stdout, "stderr": stderr}


def compare(label: str, read: dict, load: dict, selection: list) -> list:
    wrong = {s: (load["rows"].get(s), read["records"].get(s, 0)) for s in selection if load["rows"].get(s) != read["records"].get(s, 0)}
    lines = [f"{label}: loader {load['wall_s']:.1f} s against the connector's read {read['wall_s']:.1f} s = "
             f"{load['wall_s'] / read['wall_s']:.2f}x; loader CPU {load['cpu_s']:.1f} s against the connector's "
             f"{load['connector_cpu_s']:.1f} s in this load ({load['cpu_s'] / max(load['connector_cpu_s'], 1e-9):.2f}); "
             f"loader peak RSS {load['peak_rss_mb']:.0f} MB (connector {load['connector_peak_rss_mb']:.0f} MB); "
             f"file {load['size_mb']:.1f} MB"]
    lines.append(f"  rows per table = records per stream of the read: {'yes' if not wrong else 'NO: ' + json.dumps(wrong)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, action="append", help="seconds per answer (default: 0.25, then 0)")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--metric-days", type=int, default=730)
    parser.add_argument("--scale", type=int, default=1, help="multiply customers and activities")
    parser.add_argument("--only", help="streams to read (default: every stream but customer_subscriptions)")
    parser.add_argument("--no-update", action="store_true", help="first loads only")
    parser.add_argument("--no-read", action="store_true", help="the loader only, without the connector's read to compare")
    parser.add_argument("--demo", action="store_true", help="time the demo instead")
    args = parser.parse_args()

    if args.demo:
        with tempfile.TemporaryDirectory() as work:
            demo = loader_run(Path(work), Path(work) / "demo.duckdb", ["--demo"], stamp=True)
        print(f"demo: {demo['wall_s']:.1f} s in all; first record written {demo['first_record'] - demo['started_at']:.2f} s "
              f"after the start; exit {demo['exited'] - demo['last_record']:.2f} s after the last record; loader CPU "
              f"{demo['cpu_s']:.1f} s, peak RSS {demo['peak_rss_mb']:.0f} MB; {sum(demo['rows'].values()):,} rows")
        return

    streams = catalog.streams()
    selection = args.only.split(",") if args.only else [n for n in streams if n != "customer_subscriptions"]
    account = {"customers": args.customers * args.scale, "activities": args.activities * args.scale,
               "metric_days": args.metric_days, "end": ACCOUNT_END, "lazy": True}
    print(f"account: {account['customers']:,} customers, {account['activities']:,} activities; {len(selection)} streams")
    for latency in args.latency or [0.25, 0.0]:
        limits = {"latency": latency, **({"rate_limit": 40, "max_connections": 20} if latency else {})}
        with SimulationProcess(account, API_KEY, **limits) as fake, tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            if args.no_read:
                read = {"wall_s": float("nan"), "records": fake.streams}
                print(f"latency {latency * 1000:.0f} ms{' with the limits' if latency else ''}: no read by the connector alone")
            else:
                read = connector_read(folder, fake.url, selection)
                if read["code"] != 0:
                    raise SystemExit(f"the connector's read failed ({read['code']})")
                print(f"latency {latency * 1000:.0f} ms{' with the limits' if latency else ''}: connector read "
                      f"{read['wall_s']:.1f} s, CPU {read['cpu_s']:.1f} s, peak RSS {read['peak_rss_mb']:.0f} MB, "
                      f"{sum(read['records'].values()):,} records")
            db = folder / "chartmogul.duckdb"
            options = ["--config", str(_config(folder, fake.url)), "--streams", ",".join(selection)]
            first = loader_run(folder, db, options)
            print("\n".join(compare("  first load", read, first, selection)))
            if not args.no_update:
                update = loader_run(folder, db, options)
                print("\n".join(compare("  update run", read, update, selection)))
            requests = [line for line in first["stdout"].splitlines() if line.startswith("Requests sent")]
            print(f"  {requests[0] if requests else 'no request line'}")
            print(f"  simulation: {fake.stats().requests:,} requests answered in all (the read, then the loads)")


if __name__ == "__main__":
    main()
