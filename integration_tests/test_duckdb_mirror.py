"""`source-chartmogul-duckdb` keeps an exact mirror through one account's history: a first load, unchanged re-runs (the
file keeps its size; chosen streams read, the other tables kept), then customers deleted with their invoices, contacts
and subscriptions, values changed, activities added, and a load again. The installed command runs against the
simulated ChartMogul (integration_tests/duckdb_mirror.py says how and what is compared); failed runs:
test_duckdb_failures.py; the demo from the wheel: test_duckdb_demo.py; PyAirbyte on the same file: test_pyairbyte.py.
Needs the `load` extra (`pip install -e '.[dev,load]'`): CI installs it.
"""

import collections
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import duckdb
import pytest

from integration_tests import conformance as c
from integration_tests import duckdb_mirror as m
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY
from testkit.manifest import stream_names


# --- One account through a user's history ------------------------------------------------------------------------
CHOSEN = ["--streams", "customers,activities,plans", "--exclude", "plans"]


@pytest.fixture(scope="module")
def history(loader_environment, tmp_path_factory) -> Dict[str, Any]:
    """A first load; two re-runs of the unchanged account, the second with chosen streams; the account changed; a
    load again. What the command printed, what the connector read and what the tables held, at each step."""
    account = Dataset.generate(customers=120, activities=1_500, metric_days=m.DAYS, end=m.TODAY)
    streams = list(c.discovered_streams())
    db = tmp_path_factory.mktemp("mirror") / "chartmogul.duckdb"
    with SimulatedChartMogul(account, API_KEY) as simulation:
        config_file = db.with_name("config.json")
        config_file.write_text(json.dumps(m.config(simulation)))
        runs, tables, extracted, sizes, requests = [], [], [], [], []
        for options in ([], [], CHOSEN):
            seen = collections.Counter(simulation.stats.by_path)
            runs.append(m.load(loader_environment, "--config", str(config_file), "--db", str(db), *options))
            requests.append(collections.Counter(simulation.stats.by_path) - seen)
            tables.append(m.tables(db))
            extracted.append(m.extracted_at(db))
            sizes.append(db.stat().st_size)
        first_read = m.read_in_process(m.config(simulation), streams)

        deleted = [customer["uuid"] for customer in account.routes["customers"].records[5:15]]
        changes = _change(account, deleted)
        again = m.load(loader_environment, "--config", str(config_file), "--db", str(db))
        again_tables, again_read = m.tables(db), m.read_in_process(m.config(simulation), streams)
        again_activities = {activity["uuid"] for activity in account.routes["activities"].records}
        # ChartMogul recomputes an old activity away: an incremental read does not see it, a full refresh does.
        removed = account.routes["activities"].records.pop(3)["uuid"]
        incremental = m.load(loader_environment, "--config", str(config_file), "--db", str(db), "--streams", "activities")
        incremental_uuids = {row["uuid"] for row in m.tables(db)["activities"]}
        full = m.load(loader_environment, "--config", str(config_file), "--db", str(db), "--streams", "activities", "--full-refresh")
        yield {"db": db, "runs": runs, "requests": requests, "tables": tables, "extracted": extracted, "sizes": sizes, "first_read": first_read, "again": again,
               "again_tables": again_tables, "again_read": again_read, "again_activities": again_activities, "removed": removed, "incremental": incremental,
               "incremental_uuids": incremental_uuids, "full": full, "full_tables": m.tables(db),
               "deleted": deleted, "changes": changes, "account": account, "simulation": simulation,
               "config_file": config_file}


def _change(account: Dataset, deleted: List[str]) -> Dict[str, Any]:
    """What a week in ChartMogul does: customers deleted, values edited, new activities (dated after the last load)."""
    held = lambda path: account.routes[path].records  # noqa: E731
    gone_invoices = [i["uuid"] for i in held("invoices") if i["customer_uuid"] in deleted]
    gone_contacts = [x["uuid"] for x in held("contacts") if x["customer_uuid"] in deleted]
    account.delete_customers(deleted)
    renamed = held("customers")[0]
    renamed["name"], renamed["mrr"] = "Renamed Rockets GmbH", 4_321
    invoice = held("invoices")[0]
    invoice["line_items"][0]["amount_in_cents"] = 777
    held("metrics/mrr")[-1]["mrr"] = 9_876_543
    latest = held("activities")[-1]
    added = [{**latest, "uuid": f"{latest['uuid'][:-6]}{n:06d}", "type": "expansion", "activity-mrr-movement": 500 + n,
              "date": (datetime.now(timezone.utc) - timedelta(minutes=30 - n)).strftime("%Y-%m-%dT%H:%M:%S+00:00")}
             for n in range(3)]
    held("activities").extend(added)  # the route lists activities in ascending date order: these are the newest
    return {"invoices": gone_invoices, "contacts": gone_contacts, "renamed": renamed["uuid"], "invoice": invoice["uuid"],
            "line_item": invoice["line_items"][0]["uuid"], "activities": [a["uuid"] for a in added]}


def test_the_first_load_holds_exactly_what_the_connector_reads_and_says_so(history):
    m.assert_mirrors(history["tables"][0], history["first_read"])
    first = history["runs"][0]
    rows = dict(re.findall(r"^(\w+)\s+(\d+)$", first.stdout, re.M))
    assert rows == {stream: str(len(records)) for stream, records in history["first_read"].items()}
    assert re.search(rf"^Loaded [\d,]+ rows into {len(rows)} tables in \d+\.\d s\.$", first.stdout, re.M)
    assert f"DuckDB file: {history['db'].resolve()} (" in first.stdout
    assert m.statuses(first.stdout) == {"Replaced": list(rows), "Merged on uuid": [], "Kept": []}
    # What it reads, before reading: each stream with its cost; progress as each stream completes.
    plan = first.stderr.split(" into ", 1)[1]
    assert "  customer_subscriptions  replaced  1 request per customer, and the customers list\n" in plan
    assert ("  invoice_line_items      replaced  1 data_sources request; the invoices pages come with the requests of "
            "invoices\n") in plan
    # Progress, piped: one plain line per stream done, with its records (no terminal control codes).
    done = dict(re.findall(r"^\[ *\d+\.\d s\] (\w+) done: ([\d,]+) records? in \d+\.\d s$", first.stderr, re.M))
    assert done == {stream: f"{len(records):,}" for stream, records in history["first_read"].items()}
    assert "\x1b[" not in first.stderr
    mrr = history["first_read"]["mrr"]
    assert f"  {mrr[-1]['date']}  {mrr[-1]['mrr'] / 100:>14,.2f}" in first.stdout  # the MRR of the last months
    # Then the latest bucket's MRR by plan, largest first: every plan name of the account, as the connector read it.
    by_plan = history["first_read"]["mrr_by_plan"]
    latest = max(r["date"] for r in by_plan)
    expected = sorted(((r["plan"], r["mrr"]) for r in by_plan if r["date"] == latest), key=lambda x: (-x[1], x[0]))
    lines = first.stdout.split(f"MRR by plan at {latest} (USD), largest first:  SELECT plan, mrr FROM mrr_by_plan", 1)[1].splitlines()[1:]
    width = max(len(name) for name, _ in expected)
    assert lines[:len(expected)] == [f"  {name:<{width}}  {cents / 100:>14,.2f}" for name, cents in expected]
    assert len(expected) == 10


def test_runs_of_an_unchanged_account_change_no_row_and_keep_the_file_size(history):
    first, *later = history["sizes"]
    assert all(size <= first * m.SIZE_BOUND for size in later), history["sizes"]
    first_tables, *later_tables = map(m.keyed, history["tables"])
    assert all(tables == first_tables for tables in later_tables)  # the lookback's activities: still one row each
    second = history["runs"][1]
    assert m.statuses(second.stdout)["Merged on uuid"] == ["activities"]
    # The plan's costs, from the rows of the last load: 120 customers, one page of them.
    assert "  customer_subscriptions  replaced  about 121 requests (1 per customer, and the customers list)\n" in second.stderr
    assert "  customers               replaced  1 request per 200 customers: about 1 request" not in second.stderr
    assert "  customers               replaced  about 1 request (1 per 200 customers)\n" in second.stderr
    # The plans table's 10 distinct names (30 plans in 3 data sources): 10 requests and the plans list, per stream.
    assert "  mrr_by_plan             replaced  about 11 requests (1 per distinct plan name, and the plans list)\n" in second.stderr


def test_the_plan_s_requests_are_the_requests_the_account_answers_and_the_summary_says_so(history):
    """The second run reads every stream of the unchanged account: the plan (read_plan.costs, from the first load's
    rows) foresees exactly the requests the simulation answers, and the summary gives the connector's own count."""
    second, answered = history["runs"][1], history["requests"][1]
    plan = dict(re.findall(r"^  (\w+) +(?:replaced|merged) +(?:about )?([\d,]+) (?:data_sources )?requests?", second.stderr, re.M))
    total = int(re.search(r"^About ([\d,]+) requests: ", second.stderr, re.M)[1].replace(",", ""))

    assert set(plan) == set(stream_names())  # every stream has its count
    assert total == sum(int(n.replace(",", "")) for n in plan.values()) == sum(answered.values())
    assert int(plan["activities"]) == answered["activities"]  # the 10-day windows since the state, less the lookback
    sent = re.search(r"^Requests sent to ChartMogul: ([\d,]+) \((.*)\)$", second.stdout, re.M)
    assert int(sent[1].replace(",", "")) == sum(answered.values())
    by_endpoint = dict((endpoint, int(n.replace(",", ""))) for endpoint, n in (part.rsplit(" ", 1) for part in sent[2].split(", ")))
    assert by_endpoint == {re.sub(r"customers/[^/]+/subscriptions", "customers/*/subscriptions", path): n
                           for path, n in _merged_paths(answered).items()}


def _merged_paths(answered):
    merged = collections.Counter()
    for path, n in answered.items():
        merged[re.sub(r"customers/[^/]+/subscriptions", "customers/*/subscriptions", path)] += n
    return merged


def test_chosen_streams_are_read_and_the_other_tables_kept_as_they_were(history):
    chosen = history["runs"][2]
    plan = chosen.stderr.split(" into ", 1)[1].splitlines()
    assert [line.split()[:2] for line in plan[1:3]] == [["customers", "replaced"], ["activities", "merged"]]
    assert not any(line.startswith("  plans ") for line in plan)
    statuses = m.statuses(chosen.stdout)
    assert (statuses["Replaced"], statuses["Merged on uuid"]) == (["customers"], ["activities"])
    assert set(statuses["Kept"]) == set(history["first_read"]) - {"customers", "activities"}
    assert "Not selected, kept as they are: " in chosen.stderr
    before, after = history["extracted"][1:]
    assert {t for t in after if after[t] != before[t]} == {"customers", "activities"}  # the kept tables were not rewritten


def test_after_deletions_edits_and_new_activities_the_tables_equal_the_account(history):
    m.assert_mirrors(history["again_tables"], history["again_read"])
    tables, changes = history["again_tables"], history["changes"]
    assert not {row["uuid"] for row in tables["customers"]} & set(history["deleted"])
    assert not {row["uuid"] for row in tables["invoices"]} & set(changes["invoices"]) and changes["invoices"]
    assert not {row["uuid"] for row in tables["contacts"]} & set(changes["contacts"]) and changes["contacts"]
    assert not {row["customer_uuid"] for row in tables["customer_subscriptions"]} & set(history["deleted"])
    assert not {row["invoice_uuid"] for row in tables["invoice_line_items"]} & set(changes["invoices"])
    renamed = next(row for row in tables["customers"] if row["uuid"] == changes["renamed"])
    assert (renamed["name"], renamed["mrr"]) == ("Renamed Rockets GmbH", 4_321)
    assert next(r for r in tables["invoice_line_items"] if r["uuid"] == changes["line_item"])["amount_in_cents"] == 777
    assert max(tables["mrr"], key=lambda row: row["date"])["mrr"] == 9_876_543
    # Activities: the earlier ones kept, the new ones merged in, each once.
    assert {row["uuid"] for row in tables["activities"]} == history["again_activities"]
    assert set(changes["activities"]) <= {row["uuid"] for row in tables["activities"]}
    statuses = m.statuses(history["again"].stdout)
    assert statuses["Merged on uuid"] == ["activities"] and statuses["Kept"] == []
    assert "activities" not in statuses["Replaced"] and len(statuses["Replaced"]) == len(history["again_read"]) - 1


def test_a_full_refresh_replaces_the_incremental_table_so_an_activity_chartmogul_removed_leaves_it(history):
    removed, full_tables = history["removed"], history["full_tables"]

    assert removed in history["incremental_uuids"]  # an incremental read cannot see a removal (docs: Limitations)
    assert m.statuses(history["incremental"].stdout)["Merged on uuid"] == ["activities"]
    assert (m.statuses(history["full"].stdout)["Replaced"], m.statuses(history["full"].stdout)["Merged on uuid"]) == (["activities"], [])
    assert {row["uuid"] for row in full_tables["activities"]} == {a["uuid"] for a in history["account"].routes["activities"].records}
    assert removed not in {row["uuid"] for row in full_tables["activities"]}
    assert full_tables["customers"] == history["again_tables"]["customers"]  # not chosen: kept
    with duckdb.connect(str(history["db"]), read_only=True) as con:
        cursor = json.loads(con.execute("SELECT state_json FROM _airbyte_state WHERE stream_name = 'activities'").fetchone()[0])
    assert cursor["stream"]["stream_state"]["date"]  # the next run continues incrementally from it
