"""The CDK's standard connector tests (spec, check, discover, read), driven by acceptance-test-config.yml, run
in-process against the offline ChartMogul that serves expected_records.jsonl (integration_tests/conftest.py)."""

import copy
import importlib
from typing import Any, Dict, Optional

from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from boltons.typeutils import classproperty

from integration_tests.conformance import ENFORCED_HERE, acceptance_config
from source_chartmogul.source import SourceChartmogul


def config_for_standard_tests() -> Dict[str, Any]:
    """acceptance-test-config.yml without the keys the standard tests reject and our own tests enforce."""
    config = copy.deepcopy(acceptance_config())
    for section in config["acceptance_tests"].values():
        for entry in (section or {}).get("tests") or []:
            for key in ENFORCED_HERE:
                entry.pop(key, None)
    return config


class TestChartmogulStandardSuite(SourceTestSuiteBase):
    @classproperty
    def acceptance_test_config(cls) -> Any:
        return config_for_standard_tests()

    @classmethod
    def create_connector(cls, scenario: Optional[ConnectorTestScenario]) -> SourceChartmogul:
        # The CDK reads config only from the constructor: the default `SourceChartmogul()` would run every
        # scenario with an empty config (and report the invalid ones as successful).
        config = (scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
                  if scenario else {})
        return SourceChartmogul(config=config)

    def test_config_matches_spec(self, scenario: ConnectorTestScenario) -> None:
        # CDK 7.39.1 passes a scenario's `configured_catalog_path` to `spec` as `--catalog`, which `spec` rejects
        # (argparse exits 2), whenever the config is also listed under `basic_read`: drop it for this `spec` run.
        super().test_config_matches_spec(scenario.model_copy(update={"configured_catalog_path": None}))


def test_standard_suite_is_given_every_acceptance_key_except_those_enforced_here():
    original, given = acceptance_config(), config_for_standard_tests()
    removed = {
        key
        for name, section in original["acceptance_tests"].items()
        for entry, kept in zip((section or {}).get("tests") or [], (given["acceptance_tests"][name] or {}).get("tests") or [])
        for key in set(entry) - set(kept)
    }
    assert removed == set(ENFORCED_HERE), f"removed {removed}; only {set(ENFORCED_HERE)} are enforced by our tests"


def test_each_key_withheld_from_the_standard_suite_names_a_test_of_ours_that_enforces_it():
    for key, where in ENFORCED_HERE.items():
        module, test = where.split("::")
        assert callable(getattr(importlib.import_module(f"integration_tests.{module.removesuffix('.py')}"), test, None)), key
