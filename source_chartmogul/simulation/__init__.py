"""A simulated ChartMogul REST API on 127.0.0.1, answering as ChartMogul's recorded responses do.

One simulation serves the `source-chartmogul-duckdb --demo` command, the offline tests and the benchmark:

- HTTP Basic auth with the API key as user name (empty password or the key again); anything else → 401 with
  ChartMogul's JSON error body.
- Cursor pagination: `per_page` (≤ 200) and an opaque `cursor`; every page carries `has_more` and `cursor`
  (the last page too); first pages also carry the deprecated `page`/`current_page`/`total_pages`/`per_page`.
- Per-customer lists (`customers/<uuid>/subscriptions`) are routes of their own: an existing customer without
  subscriptions answers an empty list, an unknown one 404; `account` answers one object, not a list.
- `start-date`/`end-date` filters on activities (inclusive, on the activity `date`) and on metrics
  (inclusive, `YYYY-MM-DD`, both required; one entry per `interval` bucket, dated its last day, the open one dated
  end-date); the `plans` filter on metrics; the `data_source_uuid` filter on any list (a customer merged from several
  data sources is listed under each).
- Optional latency per request and ChartMogul's limits: requests per second (429 beyond) and parallel
  connections (503 beyond); scripted failures per endpoint, and bursts of failures in the middle of a sync.
- Socket-level faults per endpoint (`faults=`): stall, trickle, reset halfway through the body, a truncated 200,
  a proxy's HTML page with status 200 (`server.FAULTS`).
- `Dataset.generate()` is a synthetic account with every stream, in the shapes ChartMogul sends, and one coherent
  account (ledger.py): customers' subscriptions start, change plan or seats, are cancelled and come back, and
  everything MRR-related follows as in ChartMogul: each activity's MRR and movement and its type, each customer's MRR
  (its active subscriptions') and status, the subscriptions, and the metrics, the account's and each plan's, per day of
  the account's time zone and summed into any interval's buckets; one currency. The account is a few arrays (about 17
  bytes per activity, 38 per customer); with lazy=True each record is built from them when it is served, so the
  benchmark's 10x account holds tens of megabytes, not gigabytes of records; date filters on an `ordered` route are a
  binary search, data source filters a view.

`SimulationProcess` serves it from a child process, for measurements (the benchmark, the tests of the request budget).
The connector reaches it through its hidden `api_base_url` setting, which accepts loopback addresses only
(docs/chartmogul.md, "Run it locally").
"""

from .dataset import Dataset, Endpoint, Route
from .server import SimulatedChartMogul, SimulationProcess

__all__ = ["Dataset", "Endpoint", "Route", "SimulatedChartMogul", "SimulationProcess"]
