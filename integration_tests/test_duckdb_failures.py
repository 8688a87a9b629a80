"""`source-chartmogul-duckdb`: a run that fails (a wrong key, an outage in the middle of a sync, Ctrl-C) leaves the file
byte for byte as it was, leaves no scratch file, exits non-zero and says why in the connector's words; a stream name
the connector does not have stops it at once. Each failure is made on a copy of one first load of a simulated account
(integration_tests/duckdb_mirror.py). Needs the `load` extra (`pip install -e '.[dev,load]'`): CI installs it.
"""

import collections
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from integration_tests import duckdb_mirror as m
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY
from testkit.manifest import stream_names


@pytest.fixture(scope="module")
def first_load(loader_environment, tmp_path_factory) -> Iterator[Dict[str, Any]]:
    """A first load of a small simulated account, whose simulation keeps serving for the failing runs."""
    account = Dataset.generate(customers=60, activities=400, metric_days=m.DAYS, end=m.TODAY)
    db = tmp_path_factory.mktemp("mirror") / "chartmogul.duckdb"
    with SimulatedChartMogul(account, API_KEY) as simulation:
        config_file = db.with_name("config.json")
        config_file.write_text(json.dumps(m.config(simulation)))
        m.load(loader_environment, "--config", str(config_file), "--db", str(db))
        yield {"db": db, "simulation": simulation, "config_file": config_file}


# --- Runs that fail change nothing --------------------------------------------------------------------------------
@pytest.fixture
def copy_of_the_mirror(first_load, tmp_path) -> Path:
    db = tmp_path / "chartmogul.duckdb"
    shutil.copy(first_load["db"], db)
    return db


def _config_file(first_load, tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**json.loads(first_load["config_file"].read_text()), **overrides}))
    return path


def test_a_wrong_key_changes_nothing_and_says_which_setting_to_fix(first_load, loader_environment, copy_of_the_mirror, tmp_path):
    before = m.fingerprint(copy_of_the_mirror)

    done = m.load(loader_environment, "--config", str(_config_file(first_load, tmp_path, api_key="wrong_cm_Xy7Qp2Lm9Vb4Nc6Tz1Rd8Kf3Hg5J")),
                 "--db", str(copy_of_the_mirror), ok=False)

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("source-chartmogul-duckdb: the read failed: ChartMogul rejected the API key (401: No valid API key provided)")
    assert "paste it in 'API Key'" in last and last.endswith(f"{copy_of_the_mirror} is unchanged.")
    assert m.fingerprint(copy_of_the_mirror) == before and m.leftovers(copy_of_the_mirror) == []


def test_an_outage_in_the_middle_of_a_sync_changes_nothing_says_chartmogul_is_down_and_stops_at_once(first_load, loader_environment, copy_of_the_mirror, tmp_path):
    before, simulation = m.fingerprint(copy_of_the_mirror), first_load["simulation"]
    requests_before = simulation.stats.requests
    simulation.failures["invoices"] = collections.deque([503] * 50)  # every invoices request, while the rest reads fine
    try:
        done = m.load(loader_environment, "--config", str(_config_file(first_load, tmp_path, max_retries=0)),
                     "--db", str(copy_of_the_mirror), ok=False)
    finally:
        simulation.failures.pop("invoices")

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("source-chartmogul-duckdb: the read failed: ")
    assert "ChartMogul kept answering 503 (too many parallel connections) at http://127.0.0.1:" in last
    assert "try the sync again later" in last and last.endswith(f"{copy_of_the_mirror} is unchanged.")
    # The load fails whatever the other streams do: it stops the connector at the first failed stream, instead of
    # reading on (customer_subscriptions alone is 61 requests here; the whole read 120).
    assert 0 < simulation.stats.requests - requests_before < 100
    assert m.fingerprint(copy_of_the_mirror) == before and m.leftovers(copy_of_the_mirror) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_stopped_in_the_middle_of_a_sync_it_exits_130_changes_nothing_and_leaves_nothing(first_load, loader_environment, copy_of_the_mirror, tmp_path, stop):
    before, simulation = m.fingerprint(copy_of_the_mirror), first_load["simulation"]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    simulation.hold(after=12)  # the check and the first pages of the read are answered, then the sync waits: mid-read
    try:
        loader = subprocess.Popen([str(m.COMMAND), "--config", str(_config_file(first_load, tmp_path)), "--db", str(copy_of_the_mirror)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**loader_environment, "TMPDIR": str(scratch)}, start_new_session=True)
        deadline = time.monotonic() + 120
        while not simulation.holding() and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert simulation.holding(), "the load never reached its read"
        # Ctrl-C in a terminal signals the command and the connector it started; SIGTERM (a service manager) the command.
        if stop == signal.SIGINT:
            os.killpg(loader.pid, stop)
        else:
            os.kill(loader.pid, stop)
        _, stderr = loader.communicate(timeout=60)
    finally:
        simulation.release()

    assert loader.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == f"source-chartmogul-duckdb: interrupted; {copy_of_the_mirror} is unchanged."
    assert m.fingerprint(copy_of_the_mirror) == before and m.leftovers(copy_of_the_mirror) == []
    assert list(scratch.iterdir()) == []  # neither the loader's files nor the connector's folder with the config


# --- Choosing the streams -----------------------------------------------------------------------------------------
def test_an_unknown_stream_stops_the_command_at_once_naming_it_and_the_valid_names(loader_environment, tmp_path):
    done = m.load(loader_environment, "--demo", "--db", str(tmp_path / "demo.duckdb"), "--exclude", "customer_subscription,plans",
                 ok=False)

    assert done.returncode == 1
    assert done.stderr.strip() == ("source-chartmogul-duckdb: --exclude names a stream the connector does not have: "
                                   "customer_subscription. Valid names: " + ", ".join(stream_names()) + ".")
    assert not (tmp_path / "demo.duckdb").exists()


def test_a_ctrl_c_in_the_command_s_first_moments_stops_it_with_130_never_a_hang_or_a_crash(loader_environment, tmp_path):
    """Signals sent while the command starts and imports its modules (DuckDB's own import, interrupted, hung or
    crashed the process at its exit: found by benchmarks/interrupt_stress.py). Python's own start-up, before the
    command's first line, ends by the signal itself (-2), which a shell shows as 130 too."""
    db = tmp_path / "demo.duckdb"
    endings = []
    for moment in [0.02 * n for n in range(1, 16)]:
        started = subprocess.Popen([str(m.COMMAND), "--demo", "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={**loader_environment, "TMPDIR": str(tmp_path)}, start_new_session=True)
        time.sleep(moment)
        os.killpg(started.pid, signal.SIGINT)
        try:
            _, stderr = started.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(started.pid, signal.SIGKILL)
            started.communicate()
            pytest.fail(f"the command hung after a SIGINT {moment:.2f} s into it")
        endings.append(started.returncode)
        assert started.returncode in (130, -signal.SIGINT), (moment, started.returncode, stderr[-2000:])
        if started.returncode == 130:  # the file it names, once it has read its options
            assert stderr.strip().splitlines()[-1] in (f"source-chartmogul-duckdb: interrupted; {db} is unchanged.",
                                                       "source-chartmogul-duckdb: interrupted; nothing changed.")

    assert not db.exists() and [p.name for p in tmp_path.iterdir()] == []
    assert 130 in endings
