#!/usr/bin/env python
"""Sync benchmark: every stream of the connector, read from a large simulated ChartMogul account, offline.

    .venv/bin/python benchmarks/sync_benchmark.py                 # everything below (20-25 minutes, most of it --memory)
    .venv/bin/python benchmarks/sync_benchmark.py --streams       # only the per-stream CPU table (a few minutes)
    .venv/bin/python benchmarks/sync_benchmark.py --sync          # only the whole sync at 250 ms with the limits on
    .venv/bin/python benchmarks/sync_benchmark.py --memory        # only the zero-latency whole sync, account x1 and x10
    .venv/bin/python benchmarks/sync_benchmark.py --streams --profile --only invoices,customers   # with cProfile
    .venv/bin/python benchmarks/sync_benchmark.py --customers 2000 --activities 20000   # a small account, to iterate

The streams are the connector's own (discover, from the manifest in use), so a stream added later is benchmarked
without touching this script. The fake generates each stream's records (`Dataset.generate`, in the shapes ChartMogul
sends); a stream it has no records for stops the benchmark with an error, as does any stream that does not return
exactly the records the fake holds.

The account (defaults): 20,000 customers; 200,000 activities over two years; 2 invoices per customer with 1-3 line
items and a transaction each; subscription events a quarter of the activities; contacts for half the customers;
opportunities, tasks and notes for a quarter each; 0-3 subscriptions per customer; 30 plans (10 names, each in
every data source), 6 plan groups; 3 data sources that customers, invoices, subscription events and contacts are
spread over; the metric streams (the account's and by plan) at interval=day over the whole history.

Runs, each in a fresh Python process (so peak RSS is that run's alone), with the fake ChartMogul
(`source_chartmogul.simulation`, a threaded HTTP server on 127.0.0.1) in a child process of the run, so serving JSON
does not compete with the connector for the interpreter lock. The connector runs through
`source_chartmogul.source.run(["read", ...])` (what the `source-chartmogul` console script calls), its requests to
https://api.chartmogul.com redirected to the fake; its stdout goes to a sink that counts records per stream.

- streams: one run per stream at latency 0, no limits, the manifest's api_budget removed: records, requests, the
  connector's records per CPU second (start-up apart), and the same for a plain loop (`requests` + `json`, one thread)
  that replays exactly the connector's requests, decodes each page and writes each record as a JSON line; apart, on
  the same pages, what the CDK's DpathExtractor spends walking each page (`dpath.get`). --profile adds a cProfile of
  each stream on a tenth of the account.
- sync: every stream at once, the fake answering in --latency (250 ms) and enforcing ChartMogul's limits: 40
  requests per second (429 beyond, no Retry-After) and 20 parallel connections (503 beyond). Compared with the floor.
- memory: every stream at once at latency 0 without limits, on the account and on the account grown --scale times:
  peak RSS must stay flat. (Memory does not depend on latency; at 250 ms the 10x account would need over 7 minutes
  of requests alone, and a per-customer stream 200,000 requests more.)

The floor of the sync is the larger of: the fewest requests that can fetch the account (full pages of 200 for a list,
each page counted once however many streams read it, one request for an unpaginated endpoint, one per customer for a
per-customer endpoint, one per plan name for a metric by plan) at 40 per second; and the
longest cursor chain the API cannot split, one latency per page (a chain is split by date for activities, by
data_source_uuid for invoices, subscription events and contacts; customers, whose merged records appear under every
data source they came from, plans, plan groups, opportunities, tasks and notes stay single chains).
"""

import argparse
import collections
import contextlib
import datetime
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from source_chartmogul.simulation import SimulationProcess  # noqa: E402
from source_chartmogul.source import run  # noqa: E402
from testkit.redirect import redirect_chartmogul  # noqa: E402

API_KEY = "bench_cm_Qw7Er5Ty3Ui1Op9As8Df6Gh4Jk2Lz0X"  # made up; the fake accepts whatever it is given
ACCOUNT_END = datetime.date(2026, 11, 1)  # Dataset.generate's default: the account's history ends there
PAGE = 200
CHARTMOGUL_RPS, CHARTMOGUL_CONNECTIONS = 40, 20
# Streams whose one long chain the API can split into shorter ones, and the filter it splits them by.
SPLITTABLE = {"activities": "start-date/end-date", "invoices": "data_source_uuid",
              "subscription_events": "data_source_uuid", "contacts": "data_source_uuid"}
PAGING_PARAMS = {"cursor", "per_page"}


# --- the simulation, in its own process -----------------------------------------------------------------------
def _server_summary(stats) -> dict:
    """What the simulation saw: requests, statuses, connections, the busiest second, the cursor chains, and the
    answered requests in order (for the plain loop to replay)."""
    times = sorted(t for t, _, _, _ in stats.log)
    chains = collections.Counter()  # one cursor chain = one path with the same non-paging parameters
    for _, path, query, status in stats.log:
        endpoint = path.removeprefix("/v1/")
        chains[(endpoint, tuple(sorted((k, v) for k, v in query.items() if k not in PAGING_PARAMS)))] += status == 200
    by_endpoint = collections.Counter(_endpoint(path, query) for _, path, query, _ in stats.log)
    return {"requests": stats.requests, "by_status": dict(stats.by_status), "max_in_flight": stats.max_in_flight,
            "by_endpoint": dict(by_endpoint),
            "max_per_second": _busiest_second(times),
            "chains": [[endpoint, dict(params), pages] for (endpoint, params), pages in chains.items()],
            "replay": [[path, query] for _, path, query, status in stats.log if status == 200],
            # when (seconds after the first request) each request the simulation refused (429, 503) came, and where to
            "refused": [[round(t - times[0], 3), path, status] for t, path, _, status in stats.log if status != 200]}


def _endpoint(path: str, query: dict) -> str:
    """The endpoint a request went to: its path below /v1/, with a customer's uuid as {uuid}, and a metric asked for
    one plan (the metrics by plan) apart from the account's."""
    endpoint = re.sub(r"^customers/[^/]+/", "customers/{uuid}/", path.removeprefix("/v1/").strip("/"))
    return endpoint + "?plans=" if "plans" in query else endpoint


# --- what the connector prints goes here --------------------------------------------------------------------------
class _CountingSink:
    """Stands in for stdout: counts RECORD messages per stream and STATE messages, keeps the first errors."""

    _record = re.compile(r'^\{"type":"RECORD","record":\{(?:"namespace":[^,]*,)?"stream":"([^"]+)"', re.M)

    def __init__(self) -> None:
        self.records = collections.Counter()
        self.states = 0
        self.errors = []
        self.shared = []  # the connector's summary of the pages its streams shared
        self._tail = ""

    def write(self, chunk: str) -> int:
        text = self._tail + chunk
        cut = text.rfind("\n") + 1
        text, self._tail = text[:cut], text[cut:]
        self.records.update(self._record.findall(text))
        self.states += text.count('{"type":"STATE"')
        self.shared += [json.loads(line)["log"]["message"] for line in text.splitlines() if '"Pages shared by' in line]
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


first_request_cpu = []


@contextlib.contextmanager
def _request_log():
    """Record every request the connector hands to the transport (after the api_budget let it through): which stream
    sent it (the CDK's HTTP client of that stream), when, and when its answer arrived; and the process's CPU time at
    the first one (what start-up cost: imports aside, building the source and its streams). A parent stream's request
    made for a child's partitions (data_sources for invoices, customers for customer_subscriptions) counts as the
    parent's."""
    import threading

    import requests
    from airbyte_cdk.sources.streams.http.http_client import HttpClient

    log, sending = [], threading.local()
    original_send, original_client_send = requests.adapters.HTTPAdapter.send, HttpClient._send

    def client_send(client, *args, **kwargs):  # type: ignore[no-untyped-def]
        sending.stream = client._name
        return original_client_send(client, *args, **kwargs)

    def send(adapter, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not log:
            first_request_cpu.append(cpu_time())
        entry = [getattr(sending, "stream", "activities (probe)"), time.monotonic(), None]  # the one request made outside the CDK
        log.append(entry)
        try:
            return original_send(adapter, request, *args, **kwargs)
        finally:
            entry[2] = time.monotonic()

    requests.adapters.HTTPAdapter.send, HttpClient._send = send, client_send
    try:
        yield log
    finally:
        requests.adapters.HTTPAdapter.send, HttpClient._send = original_send, original_client_send


def _timeline(log: list, started: float) -> dict:
    """Per stream: requests sent, when the first and the last were sent and when the last answer came, from the start."""
    streams: dict = {}
    for stream, sent, answered in log:
        entry = streams.setdefault(stream, {"requests": 0, "first_sent": sent - started, "last_sent": 0.0, "last_answer": 0.0})
        entry["requests"] += 1
        entry["last_sent"] = max(entry["last_sent"], sent - started)
        entry["last_answer"] = max(entry["last_answer"], (answered or sent) - started)
    return streams


def config(account: dict) -> dict:
    """start_date: the first day of the simulated account's history; the metric streams by day."""
    start = account.get("start_date") or ACCOUNT_END - datetime.timedelta(days=account["metric_days"])
    return {"api_key": API_KEY, "start_date": f"{start}T00:00:00Z", "interval": "day"}


def manifest_text(manifest: "str | None", drop_budget: bool = False) -> str:
    import yaml

    text = Path(manifest).read_text() if manifest else (ROOT / "source_chartmogul" / "manifest.yaml").read_text()
    if drop_budget:
        parsed = yaml.safe_load(text)
        parsed.pop("api_budget", None)
        text = yaml.safe_dump(parsed, sort_keys=False)
    return text


def discovered_streams(manifest: "str | None", account: dict) -> dict:
    """The streams `discover` returns for the manifest in use, each with how it lists its records: "single" (one
    unpaginated request), "per customer" (a path per customer), "per plan name" (one unpaginated request per distinct
    plan name, after the plans list), "list" (cursor-paginated) or "expanded from <list>"
    (records nested in another list's records, read from that list's pages: invoice line items and transactions)."""
    import logging

    import yaml
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

    cwd = os.getcwd()
    os.chdir(ROOT)  # JsonFileSchemaLoader's ./source_chartmogul/schemas/ paths
    try:
        source = ConcurrentDeclarativeSource(source_config=yaml.safe_load(manifest_text(manifest)), config=config(account))
        names = [stream.name for stream in source.discover(logging.getLogger("benchmark"), config(account)).streams]
        resolved = {stream["name"]: stream for stream in source.resolved_manifest["streams"]}
    finally:
        os.chdir(cwd)

    def kind(stream: dict) -> str:
        retriever = stream.get("retriever", {})
        if (retriever.get("partition_router") or {}).get("type") == "GroupingPartitionRouter":
            return "per plan name"  # the metrics by plan: one unpaginated request per distinct name, after the plans list
        if retriever.get("paginator", {}).get("type", "NoPagination") == "NoPagination":
            return "single"
        if "stream_partition" in json.dumps(retriever.get("requester", {})):
            return "per customer"
        if retriever.get("record_selector", {}).get("extractor", {}).get("record_expander"):
            return "expanded from " + stream["$parameters"]["endpoint"]  # the pages of the list they are nested in
        return "list"

    for name in names:
        parameters = resolved.get(name, {}).get("$parameters", {})
        ENDPOINTS[name] = {"per customer": "customers/{uuid}/subscriptions", "per plan name": f"{parameters.get('endpoint')}?plans="}.get(
            kind(resolved[name]), parameters.get("endpoint") or name)
    return {name: kind(resolved[name]) if name in resolved else "list" for name in names}


ENDPOINTS: dict = {}  # stream → the endpoint it reads (discovered_streams fills it)


def _prepared_dir(manifest: "str | None", drop_budget: bool, account: dict, streams: list) -> str:
    """A working directory with config and catalog, and a manifest.yaml if it must differ from the packaged one
    (the CDK reads ./manifest.yaml before the packaged file)."""
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode
    from airbyte_cdk.test.catalog_builder import CatalogBuilder

    work = tempfile.mkdtemp(prefix="cm-bench-")
    if manifest or drop_budget:
        Path(work, "manifest.yaml").write_text(manifest_text(manifest, drop_budget))
        os.symlink(ROOT / "source_chartmogul", Path(work, "source_chartmogul"))  # the schemas' relative paths
    builder = CatalogBuilder()
    for stream in streams:
        builder.with_stream(stream, SyncMode.full_refresh)
    Path(work, "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(builder.build())))
    Path(work, "config.json").write_text(json.dumps(config(account)))
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


def _hotspots(stats, limit: int = 12) -> list:
    cpu = {key: value for key, value in stats.stats.items() if not any(w in key[2] for w in _WAITS)}
    total = sum(tt for (_, _, tt, _, _) in cpu.values())
    in_dpath = sum(tt for (filename, _, _), (_, _, tt, _, _) in cpu.items() if "/dpath/" in filename)
    rows = sorted(cpu.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]
    out = []
    for (filename, line, name), (cc, nc, tt, ct, _) in rows:
        where = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        out.append({"function": f"{where}:{line}({name})", "calls": nc, "self_s": round(tt, 2),
                    "cumulative_s": round(ct, 2), "self_share": round(tt / total, 3) if total else 0})
    out.append({"function": "all of dpath (DpathExtractor's walk)", "calls": 0, "self_s": round(in_dpath, 2),
                "cumulative_s": round(in_dpath, 2), "self_share": round(in_dpath / total, 3) if total else 0})
    return out


def cpu_time() -> float:
    """CPU seconds used by this process so far (all its threads; the fake runs in another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _replay(url: str, requests_made: list, nested: "list | None" = None) -> dict:
    """The plain loop: the connector's own requests again, one after the other, with requests + json, each record (or,
    for a stream expanded from a list, each item of the list nested in that list's records: `nested` = [endpoint,
    nested list]) written as a JSON line. Apart, on the same pages, what the CDK's DpathExtractor costs to find the
    page's list (`dpath.get`, which walks every value)."""
    import dpath
    import requests

    session, written, count, walk = requests.Session(), [0], 0, 0.0
    session.auth = (API_KEY, "")
    started, cpu_started = time.perf_counter(), cpu_time()
    for path, query in requests_made:
        body = session.get(f"{url}{path}", params=query).json()
        key = next((key for key, value in body.items() if isinstance(value, list)), None)
        records = body[key] if key is not None else [body]
        if nested and path == f"/v1/{nested[0]}":
            records = [item for record in records for item in record[nested[1]]]
        for record in records:
            written[0] += len(json.dumps(record))
            count += 1
        if key is not None:
            walking = time.thread_time()
            dpath.get(body, [key], default=[])
            walk += time.thread_time() - walking
    return {"wall_s": time.perf_counter() - started, "cpu_s": cpu_time() - cpu_started - walk, "records": count,
            "dpath_walk_s": walk}


# --- runs, each in its own process --------------------------------------------------------------------------------
def run_connector(spec: dict) -> dict:
    account, limits = spec["account"], spec["limits"]
    generated = {"customers": account["customers"], "activities": account["activities"],
                 "metric_days": account["metric_days"], "end": ACCOUNT_END, "lazy": True}
    with SimulationProcess(generated, API_KEY, **limits) as fake:

        missing = sorted(set(spec["streams"]) - set(fake.streams))
        if missing:
            raise SystemExit(f"the fake has no synthetic records for stream(s) {missing}: add a generator for each to "
                             "Dataset.generate (source_chartmogul/simulation/dataset.py) and its count to `streams`")
        work = _prepared_dir(spec.get("manifest"), spec.get("drop_budget", False), account, spec["streams"])
        os.chdir(work)
        sink, real_stdout = _CountingSink(), sys.__stdout__
        args = ["read", "--config", "config.json", "--catalog", "catalog.json"]
        sys.__stdout__ = sink  # the CDK's print buffer writes to sys.__stdout__
        profile = None
        try:
            started, cpu_started = time.perf_counter(), cpu_time()
            with redirect_chartmogul(fake.url), _request_log() as sent:
                if spec.get("profile"):
                    profile = _profiled(lambda: run(args))
                else:
                    run(args)
            wall, cpu = time.perf_counter() - started, cpu_time() - cpu_started
        finally:
            sys.__stdout__ = real_stdout
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)  # the run's config, catalog and manifest copy
        server = _server_summary(fake.stats())
        plain = _replay(fake.url, server.pop("replay"), spec.get("nested")) if spec.get("plain") else None
    result = {"wall_s": wall, "cpu_s": cpu, "startup_cpu_s": first_request_cpu[0] - cpu_started, "records": dict(sink.records), "states": sink.states, "shared": sink.shared,
              "expected": {s: fake.streams[s] for s in spec["streams"]}, "held": dict(fake.streams), "errors": sink.errors,
              "client_max_per_second": _busiest_second([t for _, t, _ in sent]), "peak_rss_mb": peak_rss, "server": server,
              "plain": plain, "timeline": _timeline(sent, sent[0][1] if sent else started)}
    if profile is not None:
        result["hotspots"] = _hotspots(profile)
    return result


def _in_fresh_process(spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--run", json.dumps(spec)], capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1])
    wrong = {s: (result["records"].get(s, 0), n) for s, n in result["expected"].items() if result["records"].get(s, 0) != n}
    if wrong or result["errors"]:
        raise SystemExit(f"the connector did not return exactly the fake's records (stream: (read, held)): {wrong}\n"
                         f"errors: {result['errors']}")
    return result


# --- the floor ----------------------------------------------------------------------------------------------------
def unsplittable_chain(stream: str, records: int, data_sources: int) -> int:
    """Pages in the longest chain the API cannot split (per data source for those it can split by data source; the
    fake spreads records evenly over its data sources)."""
    if SPLITTABLE.get(stream) == "start-date/end-date":
        return 1  # any number of date windows
    if SPLITTABLE.get(stream) == "data_source_uuid":
        return max(1, math.ceil(math.ceil(records / max(data_sources, 1)) / PAGE))
    return max(1, math.ceil(records / PAGE))


def floor_of(result: dict, kinds: dict, latency: float) -> dict:
    """The sync's floor from the records the fake holds per stream and how each stream lists them. Each page counts
    once: the streams expanded from another list (invoice line items and transactions, from the invoices' pages) need
    that list's pages, which count once however many of those streams are selected. `pages` says how many pages each
    endpoint needs (what ChartMogul counts against the account's limit), next to the requests the sync sent to it."""
    expected, held, pages, chains = result["expected"], result["held"], {}, {}
    for stream, records in expected.items():
        endpoint = ENDPOINTS.get(stream, stream)
        if kinds[stream] == "single":
            pages[endpoint] = 1
        elif kinds[stream] == "per customer":  # at least one request per customer, full pages of 200
            pages[endpoint] = max(held.get("customers", 0), math.ceil(records / PAGE))
        elif kinds[stream] == "per plan name":  # one per distinct name (a plan's series is as long as the account's)
            pages[endpoint] = round(records / max(held.get("metrics", 1), 1))
            pages["plans"] = max(1, math.ceil(held.get("plans", 0) / PAGE))  # the plans list, whoever reads it
        else:
            source = kinds[stream].removeprefix("expanded from ") if kinds[stream].startswith("expanded") else stream
            pages[ENDPOINTS.get(source, source)] = max(1, math.ceil(held[source] / PAGE))
            chains[stream] = unsplittable_chain(source, held[source], held.get("data_sources", 1))
    longest = max(chains, key=chains.get)
    fewest = sum(pages.values())
    by_requests, by_chain = fewest / CHARTMOGUL_RPS, chains[longest] * latency
    return {"fewest_requests": fewest, "by_requests_s": by_requests, "longest_chain": longest, "pages": pages,
            "longest_chain_pages": chains[longest], "by_chain_s": by_chain, "floor_s": max(by_requests, by_chain)}


def endpoint_rows(result: dict, floor: dict) -> list:
    """Per endpoint: the requests the sync sent (every status, retries included) against the pages the account has."""
    sent = result["server"].get("by_endpoint", {})
    rows = ["| endpoint | requests sent | pages the account has | sent / pages |", "| --- | ---: | ---: | ---: |"]
    for endpoint in sorted(set(sent) | set(floor["pages"]), key=lambda e: -sent.get(e, 0)):
        needed = floor["pages"].get(endpoint, 0)
        ratio = f"{sent.get(endpoint, 0) / needed:.2f}" if needed else "-"
        rows.append(f"| `/v1/{endpoint}` | {sent.get(endpoint, 0):,} | {needed:,} | {ratio} |")
    total = sum(sent.values())
    rows.append(f"| **all** | {total:,} | {floor['fewest_requests']:,} | {total / floor['fewest_requests']:.2f} |")
    return rows


# --- the report ---------------------------------------------------------------------------------------------------
def _rate(records: int, seconds: float) -> str:
    return f"{records / seconds:,.0f}" if seconds > 0.005 else "-"


def stream_rows(results: dict) -> list:
    rows = ["| stream | records | requests | chains (longest) | connector CPU: start-up + reading | records per CPU s "
            "(reading) | plain loop records per CPU s | DpathExtractor's walk alone, records per CPU s | peak RSS |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    total_records = total_cpu = total_plain = total_walk = 0.0
    for stream, result in results.items():
        records = sum(result["records"].values())
        chains = [pages for _, _, pages in result["server"]["chains"]]
        plain = result["plain"]
        reading = result["cpu_s"] - result["startup_cpu_s"]
        total_records, total_cpu, total_plain = total_records + records, total_cpu + reading, total_plain + plain["cpu_s"]
        total_walk += plain["dpath_walk_s"]
        rows.append(f"| {stream} | {records:,} | {result['server']['requests']:,} | {len(chains):,} ({max(chains, default=0)}) | "
                    f"{result['startup_cpu_s']:.2f} s + {reading:.2f} s | {_rate(records, reading)} | {_rate(records, plain['cpu_s'])} | "
                    f"{_rate(records, plain['dpath_walk_s'])} | "
                    f"{result['peak_rss_mb']:.0f} MB |")
    rows.append(f"| **all, one at a time** | {total_records:,.0f} | | | {total_cpu:.1f} s reading | {_rate(total_records, total_cpu)} | "
                f"{_rate(total_records, total_plain)} | {_rate(total_records, total_walk)} | |")
    return rows


def sync_rows(label: str, latency: float, result: dict, floor: "dict | None") -> str:
    records, server = sum(result["records"].values()), result["server"]
    vs_floor = f"{result['wall_s'] / floor['floor_s']:.2f}x ({floor['floor_s']:.1f} s)" if floor else "-"
    return (f"| {label} | {latency * 1000:.0f} ms | {result['wall_s']:.1f} s | {result['cpu_s']:.1f} s | {records:,} | "
            f"{_rate(records, result['wall_s'])} | {_rate(records, result['cpu_s'])} | {server['requests']:,} | "
            f"{server['by_status'].get('429', 0)} | {server['by_status'].get('503', 0)} | "
            f"{result['client_max_per_second']} / {server['max_per_second']} | {server['max_in_flight']} | "
            f"{result['peak_rss_mb']:.0f} MB | {vs_floor} |")


def timeline_rows(result: dict) -> list:
    """Per stream, in the order they began: its requests, when its first and last were sent and when its last answer
    came (seconds after the sync's first request). A long chain that starts late shows here as a late first request."""
    rows = ["| stream | requests | first request sent | last request sent | last answer | share of the sync's wall time |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for stream, entry in sorted(result["timeline"].items(), key=lambda kv: kv[1]["first_sent"]):
        rows.append(f"| {stream} | {entry['requests']:,} | {entry['first_sent']:.1f} s | {entry['last_sent']:.1f} s | "
                    f"{entry['last_answer']:.1f} s | {entry['last_answer'] / result['wall_s']:.0%} |")
    return rows


def _median_run(runs: list) -> dict:
    """Of repeated runs of one stream, the one of median reading CPU, with every run's records per CPU second."""
    def reading(run: dict) -> float:
        return run["cpu_s"] - run["startup_cpu_s"]

    ordered = sorted(runs, key=reading)
    median = dict(ordered[len(ordered) // 2])
    median["rates"] = [round(sum(run["records"].values()) / reading(run)) for run in runs]
    return median


def compare_rows(before: dict, after: dict) -> list:
    """Records per CPU second of each stream, before and after, from runs made side by side."""
    rows = ["| stream | records | requests | records per CPU s (reading), before | after | change | peak RSS before / after |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for stream in after:
        b, a = before.get(stream), after[stream]
        records = sum(a["records"].values())
        rate_after = records / (a["cpu_s"] - a["startup_cpu_s"])
        if b is None:
            rows.append(f"| {stream} | {records:,} | {a['server']['requests']:,} | new | {rate_after:,.0f} | | - / {a['peak_rss_mb']:.0f} MB |")
            continue
        rate_before = sum(b["records"].values()) / (b["cpu_s"] - b["startup_cpu_s"])
        runs = f" (runs: {', '.join(f'{r:,}' for r in b['rates'])} / {', '.join(f'{r:,}' for r in a['rates'])})" if len(a["rates"]) > 1 else ""
        rows.append(f"| {stream} | {records:,} | {a['server']['requests']:,} | {rate_before:,.0f} | {rate_after:,.0f} | "
                    f"{rate_after / rate_before - 1:+.0%}{runs} | {b['peak_rss_mb']:.0f} / {a['peak_rss_mb']:.0f} MB |")
    return rows


# The selections `--sync` measures: every stream; every stream but the one whose cost is per customer (which the docs
# tell users to deselect when they do not need it); the connector's three core streams.
SELECTIONS = {
    "all": lambda streams: list(streams),
    "all-but-customer_subscriptions": lambda streams: [s for s in streams if s != "customer_subscriptions"],
    "core": lambda streams: [s for s in streams if s in ("customers", "activities", "customer_count")],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--metric-days", type=int, default=730, help="days of history (2 years)")
    parser.add_argument("--start-date", help="the connector's start_date, YYYY-MM-DD (default: the first day of the "
                                               "account's history); e.g. 2017-01-25 for an account younger than that")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per request in the sync run (default 0.25)")
    parser.add_argument("--scale", type=int, default=10, help="account growth factor for the memory run")
    parser.add_argument("--streams", action="store_true", help="run the per-stream CPU table")
    parser.add_argument("--sync", action="store_true", help="run syncs at --latency with the limits on (see --selections)")
    parser.add_argument("--selections", default=",".join(SELECTIONS),
                        help=f"with --sync: which selections of streams to sync, of {', '.join(SELECTIONS)} (default: all three)")
    parser.add_argument("--memory", action="store_true", help="run the zero-latency whole sync, account x1 and x--scale")
    parser.add_argument("--only", help="comma-separated streams to read, instead of the selections (default: every stream)")
    parser.add_argument("--profile", action="store_true", help="with --streams: print each stream's CPU hotspots")
    parser.add_argument("--manifest", help="a manifest.yaml to benchmark instead of the packaged one")
    parser.add_argument("--compare", metavar="MANIFEST",
                        help="with --streams: also run each stream with this manifest, side by side, and print the change")
    parser.add_argument("--repeat", type=int, default=1,
                        help="with --streams: run each stream this many times (alternating with --compare) and keep the "
                             "run of median reading CPU (this machine's CPU time varies by 10-20%% from run to run)")
    parser.add_argument("--label", default="connector")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        print(json.dumps(run_connector(json.loads(args.run))))
        return
    everything = not (args.streams or args.sync or args.memory)
    account = {"customers": args.customers, "activities": args.activities, "metric_days": args.metric_days,
               "start_date": args.start_date}
    streams = discovered_streams(args.manifest, account)
    limits = {"latency": args.latency, "rate_limit": CHARTMOGUL_RPS, "max_connections": CHARTMOGUL_CONNECTIONS}
    results = {}
    print(f"account: {account['customers']:,} customers, {account['activities']:,} activities, {account['metric_days']} "
          f"days of history; streams: {', '.join(streams)}", flush=True)
    only = set(args.only.split(",")) if args.only else set(streams)
    if only - set(streams):
        raise SystemExit(f"--only names stream(s) the connector does not offer: {sorted(only - set(streams))}")
    streams_list = [stream for stream in streams if stream in only]  # in the connector's order, which matters

    if everything or args.streams:
        per_stream, before = {}, {}
        compared = discovered_streams(args.compare, account) if args.compare else {}
        # a tenth of the account for the profile: the per-thread CPU clock makes every profiled call costly
        small = {**account, "customers": max(account["customers"] // 10, 1), "activities": max(account["activities"] // 10, 1)}
        for stream in streams_list:
            nested = {"invoice_line_items": ["invoices", "line_items"], "invoice_transactions": ["invoices", "transactions"]}.get(stream)
            spec = {"account": account, "limits": {}, "manifest": args.manifest, "drop_budget": True,
                    "streams": [stream], "plain": True, "nested": nested}
            runs_before, runs_after = [], []
            for _ in range(args.repeat):  # side by side, alternating: before, after, each in a fresh process
                if stream in compared:
                    runs_before.append(_in_fresh_process({**spec, "manifest": args.compare}))
                runs_after.append(_in_fresh_process(spec))
            if runs_before:
                before[stream] = _median_run(runs_before)
            per_stream[stream] = _median_run(runs_after)
            if args.profile:
                per_stream[stream]["hotspots"] = _in_fresh_process({**spec, "account": small, "plain": False,
                                                                     "profile": True})["hotspots"]
            print(f"  done: {stream}", flush=True)
        results["streams"], results["streams_before"] = per_stream, before
        print(f"\n{args.label}: each stream alone, latency 0, no limits, no api_budget (plain loop: the same requests "
              "with requests + json, one thread)\n")
        print("\n".join(stream_rows(per_stream)))
        if args.compare:
            print(f"\n{args.compare} (before) and {args.manifest or 'the packaged manifest'} (after), each stream run side "
                  "by side in fresh processes, latency 0, no limits\n")
            print("\n".join(compare_rows(before, per_stream)))
        if args.profile:
            for stream, result in per_stream.items():
                print(f"\ncProfile of {stream} on a tenth of the account (all threads, each on its own CPU clock), "
                      "top self time:\n")
                print("| function | calls | self s | cumulative s | share |\n| --- | ---: | ---: | ---: | ---: |")
                for spot in result["hotspots"]:
                    print(f"| `{spot['function']}` | {spot['calls']:,} | {spot['self_s']} | {spot['cumulative_s']} | {spot['self_share']:.0%} |")

    header = ("| run | latency | wall | CPU | records | records/s | records per CPU s | requests | 429s | 503s | "
              "max req in 1 s (sent / answered) | max in flight | peak RSS | vs floor |\n"
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- | --- |")
    if everything or args.sync:
        selections = {"only": streams_list} if args.only else {
            name: SELECTIONS[name](streams_list) for name in args.selections.split(",")}
        for name, chosen in selections.items():
            result = results[f"sync {name}"] = _in_fresh_process({"account": account, "limits": limits,
                                                                  "manifest": args.manifest, "streams": chosen})
            floor = floor_of(result, streams, args.latency)
            print(f"\n{args.label}, {name} ({len(chosen)} streams): {args.latency * 1000:.0f} ms per request, "
                  f"{CHARTMOGUL_RPS} req/s (429 beyond) and {CHARTMOGUL_CONNECTIONS} connections (503 beyond) enforced "
                  "by the fake\n", flush=True)
            print(header)
            print(sync_rows(f"{args.label}: {name}", args.latency, result, floor))
            print(f"\nfloor: max({floor['fewest_requests']:,} requests / {CHARTMOGUL_RPS} per s = {floor['by_requests_s']:.1f} s, "
                  f"longest chain that cannot be split: {floor['longest_chain']} {floor['longest_chain_pages']} pages x "
                  f"{args.latency * 1000:.0f} ms = {floor['by_chain_s']:.1f} s) = {floor['floor_s']:.1f} s\n")
            print("\n".join(timeline_rows(result)))
            print("\n" + "\n".join(endpoint_rows(result, floor)))
            for line in result.get("shared", []):
                print(f"\nconnector: {line}")
            print(flush=True)

    if everything or args.memory:
        grown = {**account, "customers": args.customers * args.scale, "activities": args.activities * args.scale}
        rows = []
        for label, acc in (("account x1", account), (f"account x{args.scale}", grown)):
            result = results[f"memory {label}"] = _in_fresh_process(
                {"account": acc, "limits": {}, "manifest": args.manifest, "drop_budget": True, "streams": streams_list})
            rows.append(sync_rows(f"{args.label}: all streams, {label}, no limits, no api_budget", 0.0, result, None))
            print(f"  done: memory, {label}", flush=True)
        print(f"\n{args.label}: every stream at once, latency 0, no limits (memory does not depend on latency)\n")
        print(header)
        print("\n".join(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
