"""What the tests of `source-chartmogul-duckdb` share: running the installed command, reading the tables it wrote,
and comparing them with what the connector reads.

The command runs in a subprocess and starts the installed `source-chartmogul` executable as another, which reaches the
simulation (source_chartmogul.simulation, served from the test process on 127.0.0.1) through the config's loopback
`api_base_url`, as `--demo` does. Each table is compared, by primary key and value, with what the connector
itself reads from the same account at the same moment (an in-process read): the mirror must hold exactly that.
"""

import collections
import hashlib
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from integration_tests import conformance as c
from source_chartmogul.simulation import SimulatedChartMogul
from testkit.connector import API_KEY, catalog, run_cli

COMMAND = Path(sys.executable).with_name("source-chartmogul-duckdb")
TODAY = datetime.now(timezone.utc).date()
DAYS = 120
# The file may differ by a few of DuckDB's 256 KiB blocks from one run's new file to the next, never grow run by run.
SIZE_BOUND = 1.15


def config(simulation: SimulatedChartMogul, **overrides: Any) -> Dict[str, Any]:
    return {"api_key": API_KEY, "start_date": f"{TODAY - timedelta(days=DAYS)}T00:00:00Z", "interval": "month",
            "api_base_url": simulation.url, **overrides}


def column(field: str) -> str:
    """A field's column name: lower case, anything else than [a-z0-9_] becomes `_`."""
    return re.sub(r"[^a-z0-9_]", "_", field.lower())


def as_stored(value: Any, schema: Mapping[str, Any]) -> Any:
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


def load(environment: Dict[str, str], *args: str, command: Path = COMMAND, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=300, env=environment)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done


def tables(db: Path) -> Dict[str, List[Dict[str, Any]]]:
    """Every stream's table, without the `_airbyte_*` columns (which change with every run)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_airbyte')").fetchall()]
        return {name: [{k: v for k, v in zip([d[0] for d in cursor.description], row) if not k.startswith("_airbyte")}
                       for row in cursor.fetchall()]
                for name in names for cursor in [con.execute(f'SELECT * FROM main."{name}"')]}


def extracted_at(db: Path) -> Dict[str, Any]:
    """When each table's rows were read (`_airbyte_extracted_at`): it moves when a table is written."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_airbyte')").fetchall()]
        return {name: con.execute(f'SELECT max(_airbyte_extracted_at) FROM main."{name}"').fetchone()[0] for name in names}


def read_in_process(config: Dict[str, Any], streams: List[str]) -> Dict[str, List[Dict[str, Any]]]:
    output = run_cli("read", config, catalog(*streams))
    assert not output.errors, output.errors
    return {stream: c.records_of(output, stream) for stream in streams}


def assert_mirrors(tables: Dict[str, List[Dict[str, Any]]], read: Dict[str, List[Dict[str, Any]]]) -> None:
    """Each table holds exactly the records the connector reads: one row per primary key, every value equal."""
    schemas = {name: s.json_schema for name, s in c.discovered_streams().items()}
    for stream, records in read.items():
        keys = c.primary_key(stream)
        rows = tables[stream]
        by_key = collections.Counter(tuple(row[column(k)] for k in keys) for row in rows)
        assert [key for key, n in by_key.items() if n > 1] == [], f"{stream}: duplicated rows"
        expected = {tuple(as_stored(r[k], schemas[stream]["properties"][k]) for k in keys): r for r in records}
        assert set(by_key) == set(expected), f"{stream}: {len(set(by_key) - set(expected))} stale, {len(set(expected) - set(by_key))} missing"
        for row in rows:
            record = expected[tuple(row[column(k)] for k in keys)]
            for field, schema in schemas[stream]["properties"].items():
                stored = row[column(field)]
                stored = json.loads(stored) if isinstance(stored, str) and isinstance(record.get(field), (dict, list)) else stored
                assert stored == as_stored(record.get(field), schema), f"{stream} {field}: {stored!r} != {record.get(field)!r}"


def keyed(tables: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Dict[tuple, Dict[str, Any]]]:
    """Each table's rows by primary key (a table's row order is not part of what it holds)."""
    return {name: {tuple(row[column(k)] for k in c.primary_key(name)): row for row in rows} for name, rows in tables.items()}


def fingerprint(db: Path) -> Tuple[str, int]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns


def leftovers(db: Path) -> List[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(f".{db.name}."))


def statuses(stdout: str) -> Dict[str, List[str]]:
    found = dict(re.findall(r"^(Replaced|Merged on uuid|Kept)[^:]*: (.*)$", stdout, re.M))
    return {status: [] if names == "none" else names.split(", ") for status, names in found.items()}
