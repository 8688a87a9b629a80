"""Conformance tests run offline: one fake ChartMogul, serving expected_records.jsonl, for the whole package."""

import importlib.util
import os
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from integration_tests.conformance import offline_chartmogul
from source_chartmogul.simulation import SimulatedChartMogul

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

HERE = Path(__file__).parent

# The command each standard test runs. The CDK parametrizes every one of them with every config of
# acceptance-test-config.yml and skips the pairs whose section does not run that command (e.g. `test_basic_read`
# for an invalid config listed only under `connection`); those pairs are deselected here instead, so a run shows
# only the tests that exercise something, and a skip means something.
_STANDARD_TEST_COMMANDS = {
    "test_config_matches_spec": "spec",
    "test_check": "check",
    "test_discover": "discover",
    "test_basic_read": "read",
    "test_fail_read_with_bad_catalog": "read",
}


def _runs(item: pytest.Item) -> bool:
    scenario = getattr(item, "callspec", None) and item.callspec.params.get("scenario")
    command = _STANDARD_TEST_COMMANDS.get(getattr(item, "originalname", item.name))
    if scenario is None or command is None:
        return True
    if command == "discover" and scenario.expected_outcome.expect_exception():
        return False  # the CDK skips discover for a config expected to fail: check is what tests it
    return scenario.runs(command)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    # The standard suite's docker image tests build and run the connector image (`airbyte-cdk image test` does
    # that); they are deselected unless asked for with `-m image_tests`.
    wants_images = "image_tests" in (config.getoption("markexpr") or "")
    keep, drop = [], []
    for item in items:
        ours = HERE in Path(item.path).parents
        if ours and ((item.get_closest_marker("image_tests") and not wants_images) or not _runs(item)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="package", autouse=True)
def fake_chartmogul() -> Iterator[SimulatedChartMogul]:
    """The offline ChartMogul, with this process's requests to api.chartmogul.com routed to it."""
    with offline_chartmogul() as fake:
        yield fake


@pytest.fixture(scope="module")
def loader_environment() -> Dict[str, str]:
    """What `source-chartmogul-duckdb` inherits in the tests: this environment, which must have DuckDB (the `load` extra)."""
    if importlib.util.find_spec("duckdb") is None:
        pytest.fail("DuckDB is missing: install the load extra (pip install -e '.[dev,load]'), as .ci/run does")
    return dict(os.environ)
