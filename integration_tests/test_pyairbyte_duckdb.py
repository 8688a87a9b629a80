"""PyAirbyte → DuckDB: the installed `source-chartmogul-duckdb` command run against the offline ChartMogul.

The command runs in a subprocess, and PyAirbyte starts the installed `source-chartmogul` executable as another.
Both reach the fake through integration_tests/offline_site/sitecustomize.py (put on PYTHONPATH here), which installs
the redirect when CHARTMOGUL_FAKE_URL is set. Needs the `load` extra (`pip install -e '.[dev,load]'`): CI installs it.
The last test installs the built wheel alone, with its `load` extra, into a fresh virtualenv and runs the command
from there.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest

from integration_tests import conformance as c
from unit_tests.builders import build_wheel

COMMAND = "source-chartmogul-duckdb"
OFFLINE_SITE = c.HERE / "offline_site"
ROOT = Path(__file__).resolve().parents[1]


def _column(field: str) -> str:
    """PyAirbyte's column name for a field: lower case, anything else than [a-z0-9_] becomes `_`."""
    return re.sub(r"[^a-z0-9_]", "_", field.lower())


def _as_stored(value: Any, schema: Mapping[str, Any]) -> Any:
    """An expected value as DuckDB returns it: TIMESTAMP (UTC), DATE, DECIMAL, or JSON text for nested values."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return value  # compared after json.loads of the JSON column
    if schema.get("format") == "date-time":
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
    if schema.get("format") == "date":
        return date.fromisoformat(value)
    if isinstance(value, float) or "number" in schema.get("type", []):
        return Decimal(str(value))
    return value


@pytest.fixture(scope="module")
def offline_env(fake_chartmogul, tmp_path_factory) -> Iterator[Path]:
    """The environment the connector subprocess inherits: the fake's URL and the offline site on PYTHONPATH."""
    if importlib.util.find_spec("airbyte") is None:
        pytest.fail("PyAirbyte is missing: install the load extra (pip install -e '.[dev,load]'), as .ci/run does")
    logs = tmp_path_factory.mktemp("pyairbyte-logs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHARTMOGUL_FAKE_URL", fake_chartmogul.url)
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(OFFLINE_SITE), os.environ.get("PYTHONPATH")])))
        env.setenv("AIRBYTE_OFFLINE_MODE", "1")
        env.setenv("AIRBYTE_LOGGING_ROOT", str(logs))
        # Without the redirect the connector would retry api.chartmogul.com for minutes: prove it is in place.
        probe = subprocess.run([sys.executable, "-c", "import requests; print(requests.adapters.HTTPAdapter.send.__qualname__)"],
                               capture_output=True, text=True, check=True)
        assert "redirect_chartmogul" in probe.stdout, probe
        yield logs


@pytest.fixture(scope="module")
def first_load(fake_chartmogul, offline_env, tmp_path_factory) -> Tuple[Path, subprocess.CompletedProcess, int]:
    """The README's command, once: (DuckDB file, its run, requests the fake served meanwhile)."""
    db = tmp_path_factory.mktemp("duckdb") / "chartmogul.duckdb"
    requests_before = fake_chartmogul.stats.requests
    done = _run_loader(["--config", str(c.SAMPLE_CONFIG), "--db", str(db)])
    return db, done, fake_chartmogul.stats.requests - requests_before


def _run_loader(args: List[str], command: Path = Path(sys.executable).with_name(COMMAND)) -> subprocess.CompletedProcess:
    """Run the installed command; its environment is this process's (offline_env set the fake's redirect)."""
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done


def _counts(stdout: str) -> Dict[str, str]:
    """The loader's printed table: {table: row count}."""
    return dict(re.findall(r"^(\w+)\s+(\d+)$", stdout, flags=re.MULTILINE))


def _tables(db: Path) -> Dict[str, list]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return {
            stream: [dict(zip([d[0] for d in cursor.description], row)) for row in cursor.fetchall()]
            for stream in c.stream_names()
            for cursor in [con.execute(f'SELECT * FROM main."{stream}"')]
        }


def _expected_counts() -> Dict[str, str]:
    return {stream: str(len(c.expected_data(stream))) for stream in c.stream_names()}


def test_loader_prints_the_row_count_of_every_table_the_time_taken_and_where_the_file_is(first_load):
    db, done, requests = first_load
    assert _counts(done.stdout) == _expected_counts()
    total = sum(map(int, _expected_counts().values()))
    assert re.search(rf"^Loaded {total:,} rows into {len(c.stream_names())} tables in \d+\.\d s\.$", done.stdout, re.M), done.stdout
    assert re.search(rf"^DuckDB file: {re.escape(str(db.resolve()))} \(\d+\.\d MB\)$", done.stdout, re.M), done.stdout
    assert requests > 0, "the connector subprocess read from the fake"


def test_loader_prints_the_records_read_so_far_per_stream_as_each_stream_completes(first_load):
    _, done, _ = first_load
    progress = [line for line in done.stderr.splitlines() if " done; records so far: " in line]

    done_streams = [int(re.search(r"\] (\d+) streams? done", line).group(1)) for line in progress]
    assert set(range(1, len(c.stream_names()) + 1)) <= set(done_streams)  # a line as each stream completes
    last = progress[-1].split("records so far: ", 1)[1]
    assert last == ", ".join(f"{stream} {len(c.expected_data(stream)):,} (done)" for stream in sorted(c.stream_names()))
    assert f"with {Path(sys.executable).with_name('source-chartmogul')} " in done.stderr


def test_every_table_holds_exactly_the_expected_rows_and_values(first_load):
    db, _, _ = first_load
    tables = _tables(db)
    schemas = {name: s.json_schema for name, s in c.discovered_streams().items()}
    for stream in c.stream_names():
        properties = schemas[stream]["properties"]
        pk = [_column(k) for k in c.primary_key(stream)]
        rows = {tuple(row[k] for k in pk): row for row in tables[stream]}
        assert len(rows) == len(tables[stream]) == len(c.expected_data(stream)), stream
        for record in c.expected_data(stream):
            key = tuple(_as_stored(record[k], properties[k]) for k in c.primary_key(stream))
            row = rows[key]
            for field, schema in properties.items():
                stored, expected = row[_column(field)], _as_stored(record.get(field), schema)
                if isinstance(expected, (dict, list)):
                    stored = json.loads(stored)
                assert stored == expected, f"{stream} {key} {field}: {stored!r} != {expected!r}"


def test_a_few_values_read_as_chartmogul_means_them(first_load):
    """Spot checks in SQL, as a user would query the file: cents, hyphenated fields, dates, nested lists."""
    import duckdb

    activities, mrr, customers, invoices = (c.expected_data(s) for s in ("activities", "mrr", "customers", "invoices"))
    with duckdb.connect(str(first_load[0]), read_only=True) as con:
        def one(sql: str) -> Any:
            return con.execute(sql).fetchone()[0]

        assert one("SELECT sum(activity_mrr_movement) FROM activities") == sum(a["activity-mrr-movement"] for a in activities)
        assert one("SELECT mrr FROM mrr ORDER BY date DESC LIMIT 1") == max(mrr, key=lambda m: m["date"])["mrr"]
        assert one("SELECT count(*) FROM customers WHERE customer_since IS NULL") == sum("customer-since" not in r for r in customers)
        assert one("SELECT sum(json_array_length(line_items)) FROM invoices") == sum(len(i["line_items"]) for i in invoices)


def test_running_again_merges_on_primary_keys_and_full_refresh_rebuilds(first_load):
    import duckdb

    db, _, _ = first_load
    expected = _expected_counts()
    with duckdb.connect(str(db)) as con:  # a customer that no longer exists in ChartMogul
        con.execute("INSERT INTO customers (uuid, name, _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta) "
                    "VALUES ('cus_00000000-0000-4000-8000-0000000000ff', 'Deleted Ltd', 'stale', now(), '{}')")

    again = _counts(_run_loader(["--config", str(c.SAMPLE_CONFIG), "--db", str(db)]).stdout)

    # Activities re-read over the lookback window and every other stream read again: still one row per key.
    assert again == {**expected, "customers": str(len(c.expected_data("customers")) + 1)}

    rebuilt = _counts(_run_loader(["--config", str(c.SAMPLE_CONFIG), "--db", str(db), "--full-refresh"]).stdout)

    assert rebuilt == expected
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers WHERE name = 'Deleted Ltd'").fetchone()[0] == 0


def test_the_wheel_alone_with_its_load_extra_installs_a_command_that_loads_the_account(fake_chartmogul, offline_env, tmp_path):
    """`pip install 'airbyte-source-chartmogul[load]'` from the built wheel into a fresh virtualenv, at the locked
    versions (constraints.txt), then the one command."""
    wheel, venv = build_wheel(tmp_path / "dist"), tmp_path / "venv"
    assert wheel.name.startswith("airbyte_source_chartmogul-")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # This environment's pip installs into the new one: the wheel and what its `load` extra declares, nothing else.
    # (--no-compile: byte-compiling PyAirbyte's dependencies would add about a quarter to the install time.)
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                              "--no-compile", "-c", str(ROOT / "constraints.txt"), f"{wheel}[load]"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "from importlib import metadata; "
                                "print(metadata.version('airbyte-source-chartmogul'), metadata.version('airbyte'))"],
                               capture_output=True, text=True, check=True).stdout.split()
    locked = {p["name"]: p["version"] for p in tomllib.loads((ROOT / "poetry.lock").read_text())["package"]}
    assert installed == ["2.0.0", locked["airbyte"]]
    db = tmp_path / "chartmogul.duckdb"

    done = _run_loader(["--config", str(c.SAMPLE_CONFIG), "--db", str(db)], command=venv / "bin" / COMMAND)

    assert f"with {venv / 'bin' / 'source-chartmogul'} " in done.stderr  # the connector installed from the wheel
    assert _counts(done.stdout) == _expected_counts()
    assert f"DuckDB file: {db.resolve()} " in done.stdout
