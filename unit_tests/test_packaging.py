"""The built wheel carries the manifest and every schema, and the installed connector runs from them."""

import configparser
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from testkit.connector import build_wheel
from unit_tests.builders import config

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = sorted(p.name for p in (ROOT / "source_chartmogul" / "schemas").glob("*.json"))


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """Build the wheel and install it alone into a folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp / "dist")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp / "site"), str(wheel)],
                   check=True, capture_output=True)
    return wheel


def _run_installed(wheel: Path, *args: str) -> list:
    site = wheel.parent.parent / "site"
    cwd = wheel.parent  # a folder without manifest.yaml: the CDK must find the packaged one
    (cwd / "config.json").write_text(json.dumps(config()))
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import source_chartmogul, sys; assert source_chartmogul.__file__.startswith(sys.argv[1]), source_chartmogul.__file__; " \
           "from source_chartmogul.source import run; run(sys.argv[2:])"
    done = subprocess.run([sys.executable, "-c", code, str(site), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_wheel_contains_manifest_and_every_schema(installed_wheel):
    names = zipfile.ZipFile(installed_wheel).namelist()
    assert "source_chartmogul/manifest.yaml" in names
    assert sorted(n.split("/")[-1] for n in names if n.startswith("source_chartmogul/schemas/")) == SCHEMAS


def test_wheel_ships_the_connector_package_alone(installed_wheel):
    """Not the test helpers (testkit/, unit_tests/, integration_tests/), the benchmark or the scripts."""
    names = zipfile.ZipFile(installed_wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"source_chartmogul", "airbyte_source_chartmogul-2.0.0.dist-info"}


def test_wheel_is_the_pypi_distribution_and_declares_the_console_scripts(installed_wheel):
    assert installed_wheel.name == "airbyte_source_chartmogul-2.0.0-py3-none-any.whl"
    wheel = zipfile.ZipFile(installed_wheel)
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read("airbyte_source_chartmogul-2.0.0.dist-info/entry_points.txt").decode())
    assert dict(entry_points["console_scripts"]) == {
        "source-chartmogul": "source_chartmogul.source:run",
        "source-chartmogul-duckdb": "source_chartmogul.loader.command:main",
    }
    metadata = wheel.read("airbyte_source_chartmogul-2.0.0.dist-info/METADATA").decode()
    assert "\nName: airbyte-source-chartmogul\nVersion: 2.0.0\n" in metadata
    assert "\nLicense: MIT\n" in metadata and "\nRequires-Python: >=3.10,<3.14\n" in metadata
    assert "\nRequires-Dist: airbyte-cdk (>=7.39.1,<8)\n" in metadata


def test_installed_wheel_discovers_every_stream_with_its_packaged_schema(installed_wheel):
    messages = _run_installed(installed_wheel, "discover", "--config", "config.json")

    streams = next(m for m in messages if m["type"] == "CATALOG")["catalog"]["streams"]
    assert sorted(f"{s['name']}.json" for s in streams) == SCHEMAS
    for stream in streams:
        packaged = json.loads((ROOT / "source_chartmogul" / "schemas" / f"{stream['name']}.json").read_text())
        assert stream["json_schema"]["properties"] == packaged["properties"]


def test_package_version_docker_tag_and_latest_changelog_row_agree():
    import re

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["poetry"]["version"]
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    changelog = (ROOT / "docs" / "chartmogul.md").read_text().split("## Changelog", 1)[1]
    latest_row = next(line for line in changelog.splitlines() if re.match(r"\| \d+\.\d+\.\d+ \|", line))
    assert metadata["dockerImageTag"] == version
    assert latest_row.split("|")[1].strip() == version
