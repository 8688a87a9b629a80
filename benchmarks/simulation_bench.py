"""What the simulated account costs: building it, holding it, and serving it.

    .venv/bin/python benchmarks/simulation_bench.py                  # the benchmark's account (x1) and x10
    .venv/bin/python benchmarks/simulation_bench.py --scales 1 --pages 200

For each scale (x1 = Dataset.generate(customers=20_000, activities=200_000, metric_days=730, lazy=True), the
benchmark's account), in a fresh Python process: the seconds Dataset.generate takes, the memory it holds afterwards
(the process's resident memory after it less before it, and its peak during it: tracemalloc would slow the build
down many times), then the requests served per second at zero latency:
`--pages` pages of 200 activities (one cursor chain from the first) and of customers (at most as many as there are),
read over HTTP as the tests' `_all_pages` does (urllib + json, one thread, the client's cost included), and the same pages answered by the
server's `_serve` alone (no HTTP, no client: what the server spends per page).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

API_KEY = "bench_simulation"


def _measure(scale: int, pages: int) -> dict:
    from source_chartmogul.simulation import Dataset, SimulatedChartMogul
    from source_chartmogul.simulation.server import _serve
    import base64

    before = _rss()
    started = time.perf_counter()
    account = Dataset.generate(customers=20_000 * scale, activities=200_000 * scale, metric_days=730, lazy=True)
    built = time.perf_counter() - started
    result = {"scale": scale, "build_s": round(built, 2), "held_mb": round((_rss() - before) / 1e6, 1),
              "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1)}

    auth = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    with SimulatedChartMogul(account, API_KEY) as fake:
        for path in ("activities", "customers"):
            cursor, started, served, read = None, time.perf_counter(), 0, 0
            while read < pages:
                query = f"per_page=200{'&cursor=' + cursor if cursor else ''}"
                with urlopen(Request(f"{fake.url}/v1/{path}?{query}", headers={"Authorization": auth})) as response:
                    body = json.loads(response.read())
                served, read, cursor = served + len(body["entries"]), read + 1, body["cursor"]
                if not body["has_more"]:
                    break
            elapsed = time.perf_counter() - started
            result[f"{path}_http_pages_per_s"] = round(read / elapsed, 1)
            result[f"{path}_http_records_per_s"] = round(served / elapsed)
            route, started, query = account.routes[path], time.perf_counter(), {"per_page": "200"}
            for _ in range(read):  # the same pages
                query = {"per_page": "200", "cursor": _serve(route, query)["cursor"]}
            result[f"{path}_serve_pages_per_s"] = round(read / (time.perf_counter() - started), 1)
    return result


def _rss() -> int:
    """The process's resident memory now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated multiples of the benchmark's account")
    parser.add_argument("--pages", type=int, default=100, help="pages of 200 read per stream")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.pages)))
        return
    for scale in (int(s) for s in args.scales.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(scale), "--pages", str(args.pages)],
                             check=True, capture_output=True, text=True).stdout
        print(json.dumps(json.loads(out)))


if __name__ == "__main__":
    main()
