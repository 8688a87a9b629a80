"""`source-chartmogul-duckdb --demo` from the built wheel, in a fresh virtualenv, with no network: what the README's
first command shows a newcomer."""

import re
import subprocess
import sys
import sysconfig

from integration_tests import duckdb_mirror as m
from testkit.connector import build_wheel
from testkit.manifest import stream_names


def test_the_demo_runs_from_the_built_wheel_in_a_fresh_virtualenv_with_no_network(loader_environment, tmp_path):
    """The wheel alone in a new virtualenv (its dependencies, DuckDB included, read from this environment's
    site-packages: what the wheel must bring is its own code, manifest, schemas, simulation and commands). Every
    connection off this machine goes to a proxy that does not exist, so any attempt to use the network fails."""
    wheel, venv = build_wheel(tmp_path / "dist"), tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # after the wheel's own files
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                    "--no-compile", str(wheel)], check=True, capture_output=True, timeout=300)
    offline = {**loader_environment, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",  # ignore-https-check
               "NO_PROXY": "127.0.0.1,localhost"}

    done = m.load(offline, "--demo", "--db", str(tmp_path / "demo.duckdb"), command=venv / "bin" / "source-chartmogul-duckdb")

    assert f"with {venv / 'bin' / 'source-chartmogul'} into " in done.stderr  # the connector installed from the wheel
    assert "Demo: a simulated ChartMogul account (300 customers" in done.stderr
    rows = dict(re.findall(r"^(\w+)\s+(\d+)$", done.stdout, re.M))
    assert set(rows) == set(stream_names()) and int(rows["customers"]) == 300 and int(rows["activities"]) == 3_000
    assert re.search(r"^MRR of the last 6 buckets \(USD; ChartMogul counts in cents\)", done.stdout, re.M)
    assert re.search(r"^MRR by plan at \d{4}-\d\d-\d\d \(USD\), largest first:  SELECT plan, mrr FROM mrr_by_plan", done.stdout, re.M)
    assert re.search(r"^  Starter Monthly +[\d,]+\.\d\d$", done.stdout, re.M)  # the largest of the demo's 10 plans
    assert re.search(r"^Requests sent to ChartMogul: [\d,]+ \(customers/\*/subscriptions 3\d\d, ", done.stdout, re.M)
