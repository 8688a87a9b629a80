#!/usr/bin/env python
"""Sync benchmark: a simulated ChartMogul account read through the connector's own entrypoint, offline.

    .venv/bin/python benchmarks/sync_benchmark.py                  # the full table (about 7 minutes)
    .venv/bin/python benchmarks/sync_benchmark.py --quick          # without the 10x-account run
    .venv/bin/python benchmarks/sync_benchmark.py --manifest OTHER.yaml --label before   # another manifest version

What runs, each scenario in a fresh Python process (so peak RSS is that scenario's alone):

- the fake ChartMogul (`unit_tests/fake_chartmogul`, a threaded HTTP server on 127.0.0.1) in a child process of the
  scenario, so serving JSON does not compete with the connector for the interpreter lock; it enforces ChartMogul's
  limits: 40 requests per second (429 beyond, no Retry-After as ChartMogul documents none) and 20 parallel
  connections (503 beyond), with a fixed latency per request;
- the connector, in the scenario process, through `source_chartmogul.source.run(["read", ...])` (what the
  `source-chartmogul` console script calls), with requests to https://api.chartmogul.com redirected to the fake by
  `redirect_chartmogul` (a patched `HTTPAdapter.send`); its stdout goes to a sink that counts messages per stream.

Scenarios: `sync` (the account at the given latency, limits on), `sync x10` (the same with 10x customers and
activities: peak RSS must stay flat), `cpu` (latency 0, no limits, the manifest's api_budget removed: what the
connector can process per second) and `plain loop` (requests + json over the same fake at latency 0: fetch every page,
decode it, write each record as a JSON line; the CPU floor). `--profile` adds a cProfile of the `cpu` scenario across
all threads and prints the top hotspots.

API floor = the fewest requests that can fetch the account (full pages of 200 for customers and activities, one
request per metric stream) at 40 per second, and never less than the customers' cursor chain (one latency per page,
it cannot be parallelised).
"""

import argparse
import collections
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

API_KEY = "bench_cm_Qw7Er5Ty3Ui1Op9As8Df6Gh4Jk2Lz0X"  # made up; the fake accepts whatever it is given
ACCOUNT_END = datetime.date(2026, 11, 1)  # Dataset.generate's default: the account's history ends there
PAGE = 200
CHARTMOGUL_RPS, CHARTMOGUL_CONNECTIONS = 40, 20
METRIC_STREAMS = ["customer_count"]
STREAMS = ["customers", "activities"] + METRIC_STREAMS


# --- the fake, in its own process ---------------------------------------------------------------------------------
def _serve(conn, account: dict, limits: dict) -> None:
    from unit_tests.fake_chartmogul import Dataset, FakeChartMogul

    dataset = Dataset.generate(customers=account["customers"], activities=account["activities"],
                               metric_days=account["metric_days"], end=ACCOUNT_END, lazy=True)
    with FakeChartMogul(dataset, API_KEY, **limits) as fake:
        conn.send(fake.url)
        conn.recv()  # the scenario is over
        stats = fake.stats
        times = sorted(t for t, _, _, status in stats.log)
        busiest = _busiest_second(times)  # most requests that arrived within any one second
        start = times[0] if times else 0.0
        per_second = collections.Counter(int(t - start) for t in times)
        last_by_path = {}
        for t, path, _, _ in stats.log:
            last_by_path[path] = max(last_by_path.get(path, 0.0), round(t - start, 2))
        conn.send({"requests": stats.requests, "by_status": dict(stats.by_status), "by_path": dict(stats.by_path),
                   "max_in_flight": stats.max_in_flight, "max_per_second": busiest,
                   "per_second": [per_second.get(i, 0) for i in range(max(per_second, default=-1) + 1)],
                   "last_request_at": last_by_path})


class _Fake:
    def __init__(self, account: dict, limits: dict) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(target=_serve, args=(child, account, limits), daemon=True)

    def __enter__(self) -> "_Fake":
        self._process.start()
        self.url = self._conn.recv()
        return self

    def stop(self) -> dict:
        self._conn.send("stop")
        stats = self._conn.recv()
        self._process.join(10)
        return stats

    def __exit__(self, *exc: object) -> None:
        if self._process.is_alive():
            self._process.kill()


# --- what the connector prints goes here --------------------------------------------------------------------------
class _CountingSink:
    """Stands in for stdout: counts RECORD messages per stream and STATE messages, keeps the first errors."""

    _record = re.compile(r'^\{"type":"RECORD","record":\{(?:"namespace":[^,]*,)?"stream":"([^"]+)"', re.M)

    def __init__(self) -> None:
        self.records = collections.Counter()
        self.states = 0
        self.errors = []
        self._tail = ""

    def write(self, chunk: str) -> int:
        text = self._tail + chunk
        cut = text.rfind("\n") + 1
        text, self._tail = text[:cut], text[cut:]
        self.records.update(self._record.findall(text))
        self.states += text.count('{"type":"STATE"')
        if '"type":"TRACE"' in text and len(self.errors) < 3:
            self.errors += [line[:400] for line in text.splitlines() if '"type":"TRACE"' in line and '"error"' in line][:3]
        return len(chunk)

    def flush(self) -> None:
        pass


def _busiest_second(times: list) -> int:
    """The most events within any one second (a sliding window, as ChartMogul counts requests)."""
    times, busiest, first = sorted(times), 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


@contextlib.contextmanager
def _sent_times():
    """Record when the connector hands each request to the transport (after the api_budget let it through)."""
    import requests

    times, original = [], requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        times.append(time.monotonic())
        return original(adapter, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = send
    try:
        yield times
    finally:
        requests.adapters.HTTPAdapter.send = original


def start_date(account: dict) -> datetime.date:
    """The config's start_date: the first day of the simulated account's history."""
    return ACCOUNT_END - datetime.timedelta(days=account["metric_days"])


def expected_records(account: dict) -> int:
    """Every customer and activity, and one customer_count entry per day from start_date to the account's end."""
    return account["customers"] + account["activities"] + account["metric_days"] + 1


def _prepared_dir(manifest: "str | None", drop_budget: bool, account: dict, streams: "list | None" = None) -> str:
    """A working directory with config and catalog, and a manifest.yaml if it must differ from the packaged one
    (the CDK reads ./manifest.yaml before the packaged file)."""
    import yaml
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode
    from airbyte_cdk.test.catalog_builder import CatalogBuilder

    work = tempfile.mkdtemp(prefix="cm-bench-")
    if manifest or drop_budget:
        text = Path(manifest).read_text() if manifest else (ROOT / "source_chartmogul" / "manifest.yaml").read_text()
        if drop_budget:
            parsed = yaml.safe_load(text)
            parsed.pop("api_budget", None)
            text = yaml.safe_dump(parsed, sort_keys=False)
        Path(work, "manifest.yaml").write_text(text)
    builder = CatalogBuilder()
    for stream in streams or STREAMS:
        builder.with_stream(stream, SyncMode.full_refresh)
    Path(work, "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(builder.build())))
    config = {"api_key": API_KEY, "start_date": f"{start_date(account)}T00:00:00Z", "interval": "month"}
    Path(work, "config.json").write_text(json.dumps(config))
    return work


def _profiled(call):
    """Run `call` with one cProfile per thread (cProfile alone sees only the thread that enabled it), timed by each
    thread's own CPU clock: with wall-clock timers a thread waiting for the interpreter lock would charge the wait to
    whatever function it was in."""
    import cProfile
    import pstats
    import threading

    profiles = []

    def start_in_thread(*_):  # first profile event of a new thread: give it its own profiler
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        call()
    finally:
        main.disable()
        threading.setprofile(None)
    stats = pstats.Stats(main)
    for profile in profiles:
        stats.add(profile)
    return stats


# Time a thread spends blocked (waiting for a lock, the queue, the network, the budget) is not CPU: leave it out.
_WAITS = ("acquire' of '_thread", "'get' of '_queue", "recv_into", "sendall", "time.sleep", "select.", "'poll' of",
          "'accept' of", "'connect' of", "method 'wait'")


def _hotspots(stats, limit: int = 15) -> list:
    cpu = {key: value for key, value in stats.stats.items() if not any(w in key[2] for w in _WAITS)}
    total = sum(tt for (_, _, tt, _, _) in cpu.values())
    rows = sorted(cpu.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]
    out = []
    for (filename, line, name), (cc, nc, tt, ct, _) in rows:
        where = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        out.append({"function": f"{where}:{line}({name})", "calls": nc, "self_s": round(tt, 2),
                    "cumulative_s": round(ct, 2), "self_share": round(tt / total, 3) if total else 0})
    return out


def cpu_time() -> float:
    """CPU seconds used by this process so far (all its threads; the fake runs in another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- scenarios, each in its own process -----------------------------------------------------------------------------
def run_connector(spec: dict) -> dict:
    account, limits = spec["account"], spec["limits"]
    with _Fake(account, limits) as fake:  # fork before the CDK starts any thread
        from unit_tests.fake_chartmogul import redirect_chartmogul
        from source_chartmogul.source import run

        work = _prepared_dir(spec.get("manifest"), spec.get("drop_budget", False), account, spec.get("streams"))
        os.chdir(work)
        sink, real_stdout = _CountingSink(), sys.__stdout__
        args = ["read", "--config", "config.json", "--catalog", "catalog.json"]
        sys.__stdout__ = sink  # the CDK's print buffer writes to sys.__stdout__
        profile = None
        try:
            started, cpu_started = time.perf_counter(), cpu_time()
            with redirect_chartmogul(fake.url), _sent_times() as sent:
                if spec.get("profile"):
                    profile = _profiled(lambda: run(args))
                else:
                    run(args)
            wall = time.perf_counter() - started
        finally:
            sys.__stdout__ = real_stdout
        server = fake.stop()
    result = {"wall_s": wall, "cpu_s": cpu_time() - cpu_started, "records": dict(sink.records), "states": sink.states,
              "errors": sink.errors, "client_max_per_second": _busiest_second(sent),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "server": server}
    if profile is not None:
        result["hotspots"] = _hotspots(profile)
    return result


def run_plain_loop(spec: dict) -> dict:
    """The CPU floor: fetch every page with requests, decode it with json, write each record as a JSON line."""
    account = spec["account"]
    with _Fake(account, {}) as fake:
        import requests

        session, written, count = requests.Session(), [0], 0
        session.auth = (API_KEY, "")

        def sink(line: str) -> None:
            written[0] += len(line)

        started, cpu_started = time.perf_counter(), cpu_time()
        for path, params in [("customers", {}), ("activities", {"start-date": f"{start_date(account)}T00:00:00Z"})]:
            cursor = None
            while True:
                query = {"per_page": PAGE, **params, **({"cursor": cursor} if cursor else {})}
                body = session.get(f"{fake.url}/v1/{path}", params=query).json()
                for record in body["entries"]:
                    sink(json.dumps(record))
                    count += 1
                if not body["has_more"]:
                    break
                cursor = body["cursor"]
        body = session.get(f"{fake.url}/v1/metrics/customer-count",
                           params={"start-date": str(start_date(account)), "end-date": time.strftime("%Y-%m-%d"),
                                   "interval": "month"}).json()
        for record in body["entries"]:
            sink(json.dumps(record))
            count += 1
        wall = time.perf_counter() - started
        server = fake.stop()
    return {"wall_s": wall, "cpu_s": cpu_time() - cpu_started, "records": {"all": count}, "states": 0, "errors": [],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "server": server}


def _in_fresh_process(kind: str, spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--scenario", kind, json.dumps(spec)],
                          capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"scenario {kind} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


# --- the report -------------------------------------------------------------------------------------------------------
def api_floor(account: dict, latency: float) -> float:
    requests_needed = math.ceil(account["customers"] / PAGE) + math.ceil(account["activities"] / PAGE) + len(METRIC_STREAMS)
    customer_chain = math.ceil(account["customers"] / PAGE) * latency
    return max(requests_needed / CHARTMOGUL_RPS, customer_chain)


def _row(label: str, account: dict, latency: float, result: dict) -> str:
    records, expected = sum(result["records"].values()), expected_records(account)
    server = result["server"]
    floor = api_floor(account, latency) if latency else None
    complete = "" if records == expected else f" (expected {expected:,})"
    sent = result.get("client_max_per_second")
    errors = f" ERRORS: {result['errors']}" if result["errors"] else ""
    return (f"| {label} | {latency * 1000:.0f} ms | {result['wall_s']:.1f} s | {result['cpu_s']:.1f} s | {records:,}{complete} | "
            f"{records / result['wall_s']:,.0f} | {records / result['cpu_s']:,.0f} | {server['requests']:,} | {server['by_status'].get('429', 0)} | "
            f"{server['by_status'].get('503', 0)} | {sent if sent is not None else '-'} / {server['max_per_second']} | {server['max_in_flight']} | "
            f"{result['peak_rss_mb']:.0f} MB | " + (f"{result['wall_s'] / floor:.2f}x ({floor:.1f} s)" if floor else "-")
            + f" |{errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--metric-days", type=int, default=730, help="days of customer_count history (2 years)")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per request (default 0.25)")
    parser.add_argument("--scale", type=int, default=10, help="account growth factor for the peak-RSS run")
    parser.add_argument("--quick", action="store_true", help="skip the grown-account run")
    parser.add_argument("--no-cpu", action="store_true", help="skip the zero-latency and plain-loop runs")
    parser.add_argument("--profile", action="store_true", help="profile the zero-latency run and print hotspots")
    parser.add_argument("--manifest", help="a manifest.yaml to benchmark instead of the packaged one")
    parser.add_argument("--label", default="connector")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--scenario", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.scenario:
        kind, spec = args.scenario[0], json.loads(args.scenario[1])
        result = run_plain_loop(spec) if kind == "plain" else run_connector(spec)
        print(json.dumps(result))
        return

    account = {"customers": args.customers, "activities": args.activities, "metric_days": args.metric_days}
    grown = {**account, "customers": args.customers * args.scale, "activities": args.activities * args.scale}
    limits = {"latency": args.latency, "rate_limit": CHARTMOGUL_RPS, "max_connections": CHARTMOGUL_CONNECTIONS}
    results, rows = {}, []

    print(f"account: {account['customers']:,} customers, {account['activities']:,} activities, "
          f"{account['metric_days']} days of customer_count; fake: {args.latency * 1000:.0f} ms per request, "
          f"{CHARTMOGUL_RPS} req/s (429 beyond), {CHARTMOGUL_CONNECTIONS} connections (503 beyond)", flush=True)
    plan = [("sync", account, args.latency, {"account": account, "limits": limits, "manifest": args.manifest})]
    if not args.quick:
        plan.append((f"sync, account x{args.scale}", grown, args.latency,
                     {"account": grown, "limits": limits, "manifest": args.manifest}))
    if not args.no_cpu:
        plan.append(("cpu: latency 0, no limits, no api_budget", account, 0.0,
                     {"account": account, "limits": {}, "manifest": args.manifest, "drop_budget": True}))
    for label, acc, latency, spec in plan:
        result = _in_fresh_process("connector", spec)
        results[label] = result
        rows.append(_row(f"{args.label}: {label}", acc, latency, result))
        print(f"  done: {label} ({result['wall_s']:.1f} s)", flush=True)
    if not args.no_cpu:
        results["plain loop"] = result = _in_fresh_process("plain", {"account": account})
        rows.append(_row("plain requests + json loop", account, 0.0, result))
    if args.profile:  # a tenth of the account: the per-thread CPU clock makes every profiled call costly
        small = {**account, "customers": account["customers"] // 10, "activities": account["activities"] // 10}
        spec = {"account": small, "limits": {}, "manifest": args.manifest, "drop_budget": True, "profile": True}
        results["profile"] = _in_fresh_process("connector", spec)

    print()
    print("| run | latency | wall | CPU | records | records/s | records per CPU s | requests | 429s | 503s | max req in 1 s (sent / arrived) | max in flight | peak RSS | vs API floor |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)
    if args.profile:
        profiled = results["profile"]
        print(f"\ncProfile of the zero-latency run on a tenth of the account ({sum(profiled['records'].values()):,} records; "
              "all threads, each timed by its own CPU clock, which slows it down), top self time:\n")
        print("| function | calls | self s | cumulative s | share of self time |")
        print("| --- | --- | --- | --- | --- |")
        for spot in results["profile"]["hotspots"]:
            print(f"| `{spot['function']}` | {spot['calls']:,} | {spot['self_s']} | {spot['cumulative_s']} | {spot['self_share']:.0%} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
