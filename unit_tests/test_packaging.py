"""The built wheel carries the manifest and every schema, and the installed connector runs from them."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from unit_tests.builders import build_wheel, config

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


def test_wheel_declares_the_console_scripts(installed_wheel):
    entry_points = next(n for n in zipfile.ZipFile(installed_wheel).namelist() if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(installed_wheel).read(entry_points).decode()
    assert "source-chartmogul = source_chartmogul.source:run" in text
    assert "source-chartmogul-duckdb = source_chartmogul.load_duckdb:main" in text


def test_installed_wheel_discovers_every_stream_with_its_packaged_schema(installed_wheel):
    messages = _run_installed(installed_wheel, "discover", "--config", "config.json")

    streams = next(m for m in messages if m["type"] == "CATALOG")["catalog"]["streams"]
    assert sorted(f"{s['name']}.json" for s in streams) == SCHEMAS
    for stream in streams:
        packaged = json.loads((ROOT / "source_chartmogul" / "schemas" / f"{stream['name']}.json").read_text())
        assert stream["json_schema"]["properties"] == packaged["properties"]


def test_package_version_docker_tag_and_latest_changelog_row_agree():
    import re

    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    changelog = (ROOT / "docs" / "chartmogul.md").read_text().split("## Changelog", 1)[1]
    latest_row = next(line for line in changelog.splitlines() if re.match(r"\| \d+\.\d+\.\d+ \|", line))
    assert metadata["dockerImageTag"] == version
    assert latest_row.split("|")[1].strip() == version
