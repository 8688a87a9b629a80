"""PyAirbyte remains a way in: it runs the installed `source-chartmogul` executable (`airbyte.get_source(...,
local_executable=...)`), and it and `source-chartmogul-duckdb` take turns on one DuckDB file, each continuing activities
from the state the other saved (`_airbyte_state`, PyAirbyte's format). PyAirbyte is a development dependency for this
test only (the `dev` extra); the command does not use it."""

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict

import duckdb
import pytest

from integration_tests import duckdb_mirror as m
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY

CONNECTOR = Path(sys.executable).with_name("source-chartmogul")
STREAMS = ["customers", "plans", "activities"]

# What a user writes (docs/chartmogul.md, "With PyAirbyte"): the installed connector, read into a DuckDB cache.
PYAIRBYTE = """
import json, sys
import airbyte as ab
from airbyte.caches import DuckDBCache

config, db, streams = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
source = ab.get_source("source-chartmogul", config=config, local_executable=sys.argv[4], streams=streams)
source.check()
result = source.read(cache=DuckDBCache(db_path=db))
print(json.dumps({name: len(list(dataset)) for name, dataset in result.streams.items()}))
"""


def pyairbyte(environment: Dict[str, str], config: Dict[str, Any], db: Path) -> Dict[str, int]:
    done = subprocess.run([sys.executable, "-c", PYAIRBYTE, json.dumps(config), str(db), ",".join(STREAMS), str(CONNECTOR)],
                          capture_output=True, text=True, timeout=300, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pyairbyte_environment(loader_environment, tmp_path_factory) -> Dict[str, str]:
    pytest.importorskip("airbyte", reason="PyAirbyte comes with the dev extra, on Python below 3.13")
    return {**loader_environment, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "NO_LIVE_PROGRESS": "1",
            "AIRBYTE_LOGGING_ROOT": str(tmp_path_factory.mktemp("pyairbyte-logs"))}


def _activity_windows_from(simulation: SimulatedChartMogul, since: int) -> list:
    """The start-date of every activities request the simulation answered after its `since`-th request."""
    return sorted({query["start-date"] for _, path, query, _ in simulation.stats.log[since:] if path == "/v1/activities"})


def _saved_cursor(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return json.loads(con.execute("SELECT state_json FROM _airbyte_state WHERE stream_name = 'activities'").fetchone()[0])[
            "stream"]["stream_state"]["date"]


def test_pyairbyte_runs_the_installed_connector_and_takes_turns_with_the_command_on_one_file(pyairbyte_environment, tmp_path):
    """PyAirbyte writes the file first, as the loader of version 2.0.0 did; the command updates it in place from
    PyAirbyte's state and leaves an exact mirror; PyAirbyte continues from the command's state."""
    account = Dataset.generate(customers=60, activities=600, metric_days=m.DAYS, end=m.TODAY)
    db = tmp_path / "chartmogul.duckdb"
    with SimulatedChartMogul(account, API_KEY) as simulation:
        config = m.config(simulation)
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        expected = m.read_in_process(config, STREAMS)

        first = pyairbyte(pyairbyte_environment, config, db)
        theirs = _saved_cursor(db)
        requests_before = len(simulation.stats.log)
        ours_run = m.load(pyairbyte_environment, "--config", str(config_file), "--db", str(db), "--streams", ",".join(STREAMS))
        our_windows = _activity_windows_from(simulation, requests_before)
        tables = m.tables(db)
        ours = _saved_cursor(db)
        requests_before = len(simulation.stats.log)
        again = pyairbyte(pyairbyte_environment, config, db)
        pyairbyte_windows = _activity_windows_from(simulation, requests_before)

    assert first == again == {name: len(records) for name, records in expected.items()}  # PyAirbyte read every record
    # Each continued activities from the other's cursor, less the lookback window: not from start_date.
    assert our_windows[0].startswith(f"{date.fromisoformat(theirs[:10]) - timedelta(days=7)}T")
    assert pyairbyte_windows[0].startswith(f"{date.fromisoformat(ours[:10]) - timedelta(days=7)}T")
    assert m.statuses(ours_run.stdout)["Merged on uuid"] == ["activities"]
    m.assert_mirrors(tables, expected)
    assert re.search(r"^Requests sent to ChartMogul: \d+ ", ours_run.stdout, re.M)
    with duckdb.connect(str(db), read_only=True) as con:
        sources = dict(con.execute("SELECT stream_name, source_name FROM _airbyte_state").fetchall())
    assert sources == dict.fromkeys(STREAMS, "source-chartmogul")
