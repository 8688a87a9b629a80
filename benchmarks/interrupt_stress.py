#!/usr/bin/env python
"""Interrupt stress: Ctrl-C stops `source-chartmogul-duckdb` at any moment, and the file stays as it was.

    .venv/bin/python benchmarks/interrupt_stress.py                # 20 loads, each interrupted at a random moment
    .venv/bin/python benchmarks/interrupt_stress.py --loads 50 --seed 7

A simulated account (source_chartmogul.simulation, served from this process on 127.0.0.1, answering in --latency) is
loaded once into a DuckDB file, timing that first load. Then, while another process keeps one core busy (a CPU-bound
loop: the machine of a user whose laptop is busy, or of a CI runner running other tests), each of --loads runs of the
installed `source-chartmogul-duckdb` works on a copy of that file and is sent SIGINT, as a terminal's Ctrl-C does (to
its whole process group: the command and the connector it started), at a random moment between its start and
80% of the time an uninterrupted update of the file takes (later, the load may have finished first). Each run
must exit 130, say "interrupted; <file> is unchanged.", leave the file byte for byte as it was, leave no scratch file
beside it and nothing in its temporary folder, and leave no process of its own behind.

Prints one line per run (the moment, the last thing the command printed before the interrupt, how long it took to stop,
what it left) and a summary; exits 1 if any run was not stopped cleanly.
"""

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Tuple

from source_chartmogul.simulation import Dataset, SimulatedChartMogul

COMMAND = Path(sys.executable).with_name("source-chartmogul-duckdb")


def fingerprint(path: Path) -> Tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def processes_in_group(pgid: int) -> List[str]:
    """The processes still in a process group (Linux: /proc), as 'pid command'."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                command = (entry / "cmdline").read_bytes().replace(bytes(1), b" ").decode()
                alive.append(f"{entry.name} {command[:80]}")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return alive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="for a reproducible series of moments")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the simulation takes per answer")
    parser.add_argument("--customers", type=int, default=120)
    parser.add_argument("--no-busy-core", action="store_true", help="do not keep a core busy meanwhile")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if not COMMAND.exists():
        raise SystemExit(f"{COMMAND} is missing: install the package with its load extra (pip install -e '.[dev,load]').")

    today = datetime.now(timezone.utc).date()
    account = Dataset.generate(customers=args.customers, activities=args.customers * 8, metric_days=365, end=today)
    key = f"stress_{secrets.token_urlsafe(32)}"
    work = Path(tempfile.mkdtemp(prefix="interrupt-stress-"))
    busy = None
    failures = 0
    try:
        with SimulatedChartMogul(account, key, latency=args.latency) as simulation:
            config = work / "config.json"
            config.write_text(json.dumps({"api_key": key, "start_date": f"{today - timedelta(days=365)}T00:00:00Z",
                                          "interval": "month", "api_base_url": simulation.url}))
            environment = dict(os.environ)
            if not args.no_busy_core:
                # A core kept busy until the script ends, or dies: the loop ends when its parent is gone (measured:
                # a stress run stopped with SIGTERM left `while True: pass` spinning for 18 minutes).
                busy = subprocess.Popen([sys.executable, "-c", "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"])
            mirror = work / "first.duckdb"
            for _ in range(2):  # a first load, then a load that updates it, as every interrupted run does: timed
                started = time.monotonic()
                subprocess.run([str(COMMAND), "--config", str(config), "--db", str(mirror)], check=True, env=environment,
                               capture_output=True, text=True)
                first = time.monotonic() - started
            print(f"An update of the file takes {first:.1f} s ({args.customers} customers, {args.latency * 1000:.0f} ms "
                  f"per answer{', one core kept busy' if busy else ''}). Interrupting {args.loads} loads between 0 and "
                  f"{0.8 * first:.1f} s.", flush=True)
            stops: List[float] = []
            starts = 0
            run = 0
            while len(stops) < args.loads and run < 2 * args.loads:  # a load that finished first is not counted
                run += 1
                folder = work / f"run{run}"
                (folder / "tmp").mkdir(parents=True)
                db = folder / "chartmogul.duckdb"
                shutil.copy(mirror, db)
                before = fingerprint(db)
                moment = rng.uniform(0, 0.8 * first)
                loader = subprocess.Popen([str(COMMAND), "--config", str(config), "--db", str(db)],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env={**environment, "TMPDIR": str(folder / "tmp")}, start_new_session=True)
                time.sleep(moment)
                if loader.poll() is not None:
                    print(f"run {run:2d}: finished before its SIGINT at {moment:.2f} s: the machine was faster than "
                          "the update measured first; not counted, another one is run", flush=True)
                    continue
                sent = time.monotonic()
                os.killpg(loader.pid, signal.SIGINT)
                try:
                    stdout, stderr = loader.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    os.killpg(loader.pid, signal.SIGKILL)
                    stdout, stderr = loader.communicate()
                stopped = time.monotonic() - sent
                time.sleep(0.2)  # a connector the command killed while stopping is reaped by then
                left = processes_in_group(loader.pid)
                scratch = [p.name for p in folder.iterdir() if p.name.startswith(".")] + [p.name for p in (folder / "tmp").iterdir()]
                said = [line for line in stderr.splitlines() if line.strip()]
                problems = []
                # Python's own start-up (before the command's first line runs, a few tens of ms) ends a process by the
                # signal itself, which a shell reports as 130 too: counted apart, not as a failure.
                at_start_up = loader.returncode == -signal.SIGINT and "source_chartmogul" not in stderr
                starts += at_start_up
                if loader.returncode != 130 and not at_start_up:
                    problems.append(f"exit {loader.returncode}")
                if f"interrupted; {db} is unchanged." not in stderr and not at_start_up:
                    problems.append("no 'interrupted' message")
                if fingerprint(db) != before:
                    problems.append("file changed")
                if scratch:
                    problems.append(f"left {scratch}")
                if left:
                    problems.append(f"processes left {left}")
                    for line in left:
                        os.kill(int(line.split()[0]), signal.SIGKILL)
                failures += bool(problems)
                stops.append(stopped)
                last = next((line for line in reversed(said[:-1]) if not line.startswith("source-chartmogul-duckdb: interrupted")), "(nothing yet)") if said else "(nothing)"
                verdict = "OK (ended by the signal in Python's start-up)" if at_start_up else "OK"
                print(f"run {run:2d}: SIGINT at {moment:5.2f} s, stopped in {stopped:4.2f} s: "
                      f"{verdict if not problems else 'FAILED: ' + '; '.join(problems)}  | last said: {last[:90]}", flush=True)
                if problems:
                    print("  stderr tail: " + stderr[-1500:].replace("\n", "\n  "), flush=True)
                    print("  stdout tail: " + stdout[-500:].replace("\n", "\n  "), flush=True)
            print(f"{len(stops) - failures} of {len(stops)} interrupted loads stopped with exit 130 ({starts} of them by the signal "
                  f"itself, in Python's start-up), the file unchanged and nothing left behind; slowest stop {max(stops):.2f} s.")
    finally:
        if busy:
            busy.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
