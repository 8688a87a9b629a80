"""`source-chartmogul-duckdb`: the installed command, run against the simulated ChartMogul, keeps an exact mirror.

The command runs in a subprocess and PyAirbyte starts the installed `source-chartmogul` executable as another; both
reach the simulation (source_chartmogul.simulation, served from this test process on 127.0.0.1) through the config's
loopback `api_base_url`, as `--demo` does. Each table is compared, by primary key and value, with what the connector
itself reads from the same account at the same moment (an in-process read): the mirror must hold exactly that.

One account goes through a user's history: a first load, unchanged re-runs (the file keeps its size), then customers
deleted with their invoices, contacts and subscriptions, values changed, activities added, and a load again. Failed
runs (a wrong key, an outage in the middle, Ctrl-C) are made on a copy of the file, which must stay byte for byte as
it was. Needs the `load` extra (`pip install -e '.[dev,load]'`): CI installs it. The last test installs the built
wheel into a fresh virtualenv and runs `--demo` there, with every route off this machine closed.
"""

import collections
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import pytest

from integration_tests import conformance as c
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from unit_tests.builders import API_KEY, build_wheel, catalog, run_cli

COMMAND = Path(sys.executable).with_name("source-chartmogul-duckdb")
TODAY = datetime.now(timezone.utc).date()
DAYS = 120
# The file may differ by a few of DuckDB's 256 KiB blocks from one compacted copy to the next, never grow run by run.
SIZE_BOUND = 1.15


def _config(simulation: SimulatedChartMogul, **overrides: Any) -> Dict[str, Any]:
    return {"api_key": API_KEY, "start_date": f"{TODAY - timedelta(days=DAYS)}T00:00:00Z", "interval": "month",
            "api_base_url": simulation.url, **overrides}


def _column(field: str) -> str:
    """PyAirbyte's column name for a field: lower case, anything else than [a-z0-9_] becomes `_`."""
    return re.sub(r"[^a-z0-9_]", "_", field.lower())


def _as_stored(value: Any, schema: Mapping[str, Any]) -> Any:
    """A record's value as DuckDB returns it: TIMESTAMP (UTC), DATE, DECIMAL, or JSON text for nested values."""
    if value is None or isinstance(value, (dict, list)):
        return value  # nested values are compared after json.loads of the JSON column
    if schema.get("format") == "date-time":
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
    if schema.get("format") == "date":
        return date.fromisoformat(value)
    if isinstance(value, float) or "number" in schema.get("type", []):
        return Decimal(str(value))
    return value


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> Dict[str, str]:
    """What the command inherits: PyAirbyte offline, its logs in a temporary folder."""
    if importlib.util.find_spec("airbyte") is None:
        pytest.fail("PyAirbyte is missing: install the load extra (pip install -e '.[dev,load]'), as .ci/run does")
    return {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "AIRBYTE_LOGGING_ROOT": str(tmp_path_factory.mktemp("pyairbyte-logs"))}


def _load(environment: Dict[str, str], *args: str, command: Path = COMMAND, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=300, env=environment)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done


def _tables(db: Path) -> Dict[str, List[Dict[str, Any]]]:
    """Every stream's table, without PyAirbyte's own `_airbyte_*` columns (which change with every run)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_airbyte')").fetchall()]
        return {name: [{k: v for k, v in zip([d[0] for d in cursor.description], row) if not k.startswith("_airbyte")}
                       for row in cursor.fetchall()]
                for name in names for cursor in [con.execute(f'SELECT * FROM main."{name}"')]}


def _extracted_at(db: Path) -> Dict[str, Any]:
    """When each table's rows were read (PyAirbyte's `_airbyte_extracted_at`): it moves when a table is written."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_airbyte')").fetchall()]
        return {name: con.execute(f'SELECT max(_airbyte_extracted_at) FROM main."{name}"').fetchone()[0] for name in names}


def _read_in_process(config: Dict[str, Any], streams: List[str]) -> Dict[str, List[Dict[str, Any]]]:
    output = run_cli("read", config, catalog(*streams))
    assert not output.errors, output.errors
    return {stream: c.records_of(output, stream) for stream in streams}


def assert_mirrors(tables: Dict[str, List[Dict[str, Any]]], read: Dict[str, List[Dict[str, Any]]]) -> None:
    """Each table holds exactly the records the connector reads: one row per primary key, every value equal."""
    schemas = {name: s.json_schema for name, s in c.discovered_streams().items()}
    for stream, records in read.items():
        keys = c.primary_key(stream)
        rows = tables[stream]
        by_key = collections.Counter(tuple(row[_column(k)] for k in keys) for row in rows)
        assert [key for key, n in by_key.items() if n > 1] == [], f"{stream}: duplicated rows"
        expected = {tuple(_as_stored(r[k], schemas[stream]["properties"][k]) for k in keys): r for r in records}
        assert set(by_key) == set(expected), f"{stream}: {len(set(by_key) - set(expected))} stale, {len(set(expected) - set(by_key))} missing"
        for row in rows:
            record = expected[tuple(row[_column(k)] for k in keys)]
            for field, schema in schemas[stream]["properties"].items():
                stored = row[_column(field)]
                stored = json.loads(stored) if isinstance(stored, str) and isinstance(record.get(field), (dict, list)) else stored
                assert stored == _as_stored(record.get(field), schema), f"{stream} {field}: {stored!r} != {record.get(field)!r}"


def _keyed(tables: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Dict[tuple, Dict[str, Any]]]:
    """Each table's rows by primary key (a table's row order is not part of what it holds)."""
    return {name: {tuple(row[_column(k)] for k in c.primary_key(name)): row for row in rows} for name, rows in tables.items()}


def _fingerprint(db: Path) -> Tuple[str, int]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns


def _leftovers(db: Path) -> List[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(f".{db.name}."))


def _statuses(stdout: str) -> Dict[str, List[str]]:
    found = dict(re.findall(r"^(Replaced|Merged on uuid|Kept)[^:]*: (.*)$", stdout, re.M))
    return {status: [] if names == "none" else names.split(", ") for status, names in found.items()}


# --- One account through a user's history ------------------------------------------------------------------------
CHOSEN = ["--streams", "customers,activities,plans", "--exclude", "plans"]


@pytest.fixture(scope="module")
def history(environment, tmp_path_factory) -> Dict[str, Any]:
    """A first load; two re-runs of the unchanged account, the second with chosen streams; the account changed; a
    load again. What the command printed, what the connector read and what the tables held, at each step."""
    account = Dataset.generate(customers=120, activities=1_500, metric_days=DAYS, end=TODAY)
    streams = list(c.discovered_streams())
    db = tmp_path_factory.mktemp("mirror") / "chartmogul.duckdb"
    with SimulatedChartMogul(account, API_KEY) as simulation:
        config_file = db.with_name("config.json")
        config_file.write_text(json.dumps(_config(simulation)))
        runs, tables, extracted, sizes = [], [], [], []
        for options in ([], [], CHOSEN):
            runs.append(_load(environment, "--config", str(config_file), "--db", str(db), *options))
            tables.append(_tables(db))
            extracted.append(_extracted_at(db))
            sizes.append(db.stat().st_size)
        first_read = _read_in_process(_config(simulation), streams)

        deleted = [customer["uuid"] for customer in account.routes["customers"].records[5:15]]
        changes = _change(account, deleted)
        again = _load(environment, "--config", str(config_file), "--db", str(db))
        yield {"db": db, "runs": runs, "tables": tables, "extracted": extracted, "sizes": sizes, "first_read": first_read, "again": again,
               "again_tables": _tables(db), "again_read": _read_in_process(_config(simulation), streams),
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
    assert_mirrors(history["tables"][0], history["first_read"])
    first = history["runs"][0]
    rows = dict(re.findall(r"^(\w+)\s+(\d+)$", first.stdout, re.M))
    assert rows == {stream: str(len(records)) for stream, records in history["first_read"].items()}
    assert re.search(rf"^Loaded [\d,]+ rows into {len(rows)} tables in \d+\.\d s\.$", first.stdout, re.M)
    assert f"DuckDB file: {history['db'].resolve()} (" in first.stdout
    assert _statuses(first.stdout) == {"Replaced": list(rows), "Merged on uuid": [], "Kept": []}
    # What it reads, before reading: each stream with its cost; progress as each stream completes.
    plan = first.stderr.split(" into ", 1)[1]
    assert "  customer_subscriptions  replaced  1 request per customer, and the customers list\n" in plan
    assert "  invoice_line_items      replaced  1 request per 200 invoices, the invoices' pages read again\n" in plan
    done = [line for line in first.stderr.splitlines() if " done; records so far: " in line]
    assert done[-1].endswith(", ".join(f"{s} {len(r):,} (done)" for s, r in sorted(history["first_read"].items())))
    mrr = history["first_read"]["mrr"]
    assert f"  {mrr[-1]['date']}  {mrr[-1]['mrr'] / 100:>14,.2f}" in first.stdout  # the MRR of the last months


def test_runs_of_an_unchanged_account_change_no_row_and_keep_the_file_size(history):
    first, *later = history["sizes"]
    assert all(size <= first * SIZE_BOUND for size in later), history["sizes"]
    first_tables, *later_tables = map(_keyed, history["tables"])
    assert all(tables == first_tables for tables in later_tables)  # the lookback's activities: still one row each
    second = history["runs"][1]
    assert _statuses(second.stdout)["Merged on uuid"] == ["activities"]
    # The plan's costs, from the rows of the last load: 120 customers, one page of them.
    assert "  customer_subscriptions  replaced  about 121 requests (1 per customer, and the customers list)\n" in second.stderr
    assert "  customers               replaced  1 request per 200 customers: about 1 request" not in second.stderr
    assert "  customers               replaced  about 1 request (1 per 200 customers)\n" in second.stderr


def test_chosen_streams_are_read_and_the_other_tables_kept_as_they_were(history):
    chosen = history["runs"][2]
    plan = chosen.stderr.split(" into ", 1)[1].splitlines()
    assert [line.split()[:2] for line in plan[1:3]] == [["customers", "replaced"], ["activities", "merged"]]
    assert not any(line.startswith("  plans ") for line in plan)
    statuses = _statuses(chosen.stdout)
    assert (statuses["Replaced"], statuses["Merged on uuid"]) == (["customers"], ["activities"])
    assert set(statuses["Kept"]) == set(history["first_read"]) - {"customers", "activities"}
    assert "Not selected, kept as they are: " in chosen.stderr
    before, after = history["extracted"][1:]
    assert {t for t in after if after[t] != before[t]} == {"customers", "activities"}  # the kept tables were not rewritten


def test_after_deletions_edits_and_new_activities_the_tables_equal_the_account(history):
    assert_mirrors(history["again_tables"], history["again_read"])
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
    assert {row["uuid"] for row in tables["activities"]} == {a["uuid"] for a in history["account"].routes["activities"].records}
    assert set(changes["activities"]) <= {row["uuid"] for row in tables["activities"]}
    statuses = _statuses(history["again"].stdout)
    assert statuses["Merged on uuid"] == ["activities"] and statuses["Kept"] == []
    assert "activities" not in statuses["Replaced"] and len(statuses["Replaced"]) == len(history["again_read"]) - 1


# --- Runs that fail change nothing --------------------------------------------------------------------------------
@pytest.fixture
def copy_of_the_mirror(history, tmp_path) -> Path:
    db = tmp_path / "chartmogul.duckdb"
    shutil.copy(history["db"], db)
    return db


def _config_file(history, tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**json.loads(history["config_file"].read_text()), **overrides}))
    return path


def test_a_wrong_key_changes_nothing_and_says_which_setting_to_fix(history, environment, copy_of_the_mirror, tmp_path):
    before = _fingerprint(copy_of_the_mirror)

    done = _load(environment, "--config", str(_config_file(history, tmp_path, api_key="wrong_cm_Xy7Qp2Lm9Vb4Nc6Tz1Rd8Kf3Hg5J")),
                 "--db", str(copy_of_the_mirror), ok=False)

    assert done.returncode == 1
    assert "source-chartmogul-duckdb: the connection check failed: " in done.stderr
    assert "ChartMogul rejected the API key (401: No valid API key provided)" in done.stderr
    assert "paste it in 'API Key'" in done.stderr and f"{copy_of_the_mirror} is unchanged." in done.stderr
    assert _fingerprint(copy_of_the_mirror) == before and _leftovers(copy_of_the_mirror) == []


def test_an_outage_in_the_middle_of_a_sync_changes_nothing_and_says_chartmogul_is_down(history, environment, copy_of_the_mirror, tmp_path):
    before, simulation = _fingerprint(copy_of_the_mirror), history["simulation"]
    requests_before = simulation.stats.requests
    simulation.failures["invoices"] = collections.deque([503] * 50)  # every invoices request, while the rest reads fine
    try:
        done = _load(environment, "--config", str(_config_file(history, tmp_path, max_retries=0)),
                     "--db", str(copy_of_the_mirror), ok=False)
    finally:
        simulation.failures.pop("invoices")

    assert done.returncode == 1
    assert "source-chartmogul-duckdb: the sync failed: " in done.stderr
    assert "ChartMogul kept answering 503 (too many parallel connections) at http://127.0.0.1:" in done.stderr
    assert "try the sync again later" in done.stderr and f"{copy_of_the_mirror} is unchanged." in done.stderr
    assert simulation.stats.requests - requests_before > 20  # the other streams were read before it gave up
    assert _fingerprint(copy_of_the_mirror) == before and _leftovers(copy_of_the_mirror) == []


def test_ctrl_c_in_the_middle_of_a_sync_changes_nothing(history, environment, copy_of_the_mirror, tmp_path):
    before, simulation = _fingerprint(copy_of_the_mirror), history["simulation"]
    requests_before = simulation.stats.requests
    simulation.latency = 0.2  # slow enough to be interrupted in the middle
    try:
        loader = subprocess.Popen([str(COMMAND), "--config", str(_config_file(history, tmp_path)), "--db", str(copy_of_the_mirror)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                                  start_new_session=True)
        deadline = time.monotonic() + 60
        while simulation.stats.requests - requests_before < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(loader.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the command and the connector it started
        _, stderr = loader.communicate(timeout=60)
    finally:
        simulation.latency = 0.0

    assert loader.returncode == 130, stderr[-2000:]
    assert f"source-chartmogul-duckdb: interrupted; {copy_of_the_mirror} is unchanged." in stderr
    assert _fingerprint(copy_of_the_mirror) == before and _leftovers(copy_of_the_mirror) == []


# --- Choosing the streams -----------------------------------------------------------------------------------------
def test_an_unknown_stream_stops_the_command_at_once_naming_it_and_the_valid_names(environment, tmp_path):
    done = _load(environment, "--demo", "--db", str(tmp_path / "demo.duckdb"), "--exclude", "customer_subscription,plans",
                 ok=False)

    assert done.returncode == 1
    assert done.stderr.strip() == ("source-chartmogul-duckdb: --exclude names a stream the connector does not have: "
                                   "customer_subscription. Valid names: " + ", ".join(c.stream_names()) + ".")
    assert not (tmp_path / "demo.duckdb").exists()


# --- The demo, from the built wheel -------------------------------------------------------------------------------
def test_the_demo_runs_from_the_built_wheel_in_a_fresh_virtualenv_with_no_network(environment, tmp_path):
    """The wheel alone in a new virtualenv (its dependencies, PyAirbyte included, read from this environment's
    site-packages: what the wheel must bring is its own code, manifest, schemas, simulation and commands). Every
    connection off this machine goes to a proxy that does not exist, so any attempt to use the network fails."""
    wheel, venv = build_wheel(tmp_path / "dist"), tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    import sysconfig

    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # after the wheel's own files
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                    "--no-compile", str(wheel)], check=True, capture_output=True, timeout=300)
    offline = {**environment, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",  # ignore-https-check
               "NO_PROXY": "127.0.0.1,localhost"}

    done = _load(offline, "--demo", "--db", str(tmp_path / "demo.duckdb"), command=venv / "bin" / "source-chartmogul-duckdb")

    assert f"with {venv / 'bin' / 'source-chartmogul'} into " in done.stderr  # the connector installed from the wheel
    assert "Demo: a simulated ChartMogul account (300 customers" in done.stderr
    rows = dict(re.findall(r"^(\w+)\s+(\d+)$", done.stdout, re.M))
    assert set(rows) == set(c.stream_names()) and int(rows["customers"]) == 300 and int(rows["activities"]) == 3_000
    assert re.search(r"^MRR of the last 6 buckets \(USD; ChartMogul counts in cents\)", done.stdout, re.M)
