"""metadata.yaml is valid Airbyte connector metadata (by Airbyte's own typed models, the `airbyte-connector-models`
package its metadata validator uses), declares 2.0.0's breaking change for 1.x users, and pins a base image whose
build runs the console script pyproject.toml declares."""

import copy
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import ConnectorMetadataDefinitionV0
from packaging.specifiers import SpecifierSet
from pydantic import ValidationError

from unit_tests.builders import config

ROOT = Path(__file__).resolve().parents[1]
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
POETRY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["poetry"]

# The registry's 1.x connector (1.1.20, manifest-only): each stream's primary key and declared fields with their
# JSON types (`string` unless noted; 1.x declared no `format`). From airbytehq/airbyte,
# airbyte-integrations/connectors/source-chartmogul/manifest.yaml.
_COUNT_1X = (["date"], {"date": "string", "customers": "integer"})
STREAMS_1X: Dict[str, tuple] = {
    "customers": (["id"], {
        **dict.fromkeys(["billing-system-type", "billing-system-url", "chartmogul-url", "city", "company", "country",
                         "currency", "currency-sign", "customer_since", "data_source_uuid", "email", "external_id",
                         "free_trial_started_at", "lead_created_at", "name", "state", "status", "uuid", "zip"], "string"),
        "address": "object", "attributes": "object", "arr": "integer", "mrr": "integer", "id": "integer",
        "data_source_uuids": "array", "external_ids": "array",
    }),
    "activities": (["uuid"], {
        **dict.fromkeys(["description", "date", "type", "currency", "subscription-external-id", "plan-external-id",
                         "customer-name", "customer-uuid", "customer-external-id", "billing-connector-uuid", "uuid"],
                        "string"),
        "activity-mrr-movement": "integer", "activity-mrr": "integer", "activity-arr": "integer",
    }),
    "customer_daily_count": _COUNT_1X,
    "customer_weekly_count": _COUNT_1X,
    "customer_monthly_count": _COUNT_1X,
    "customer_quarterly_count": _COUNT_1X,
}

# The 1.x spec (same source): what a 1.x configuration was validated against.
SPEC_1X = {
    "documentationUrl": "https://docs.airbyte.com/integrations/sources/chartmogul",
    "connectionSpecification": {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["api_key", "start_date"],
        "additionalProperties": True,
        "properties": {
            "api_key": {"type": "string", "airbyte_secret": True},
            "start_date": {"type": "string", "format": "date-time",
                           "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
        },
    },
}


def _errors(metadata: Dict[str, Any]) -> List[str]:
    """What Airbyte's metadata model rejects, one `path: message` per error (empty when valid)."""
    try:
        ConnectorMetadataDefinitionV0.model_validate(metadata)
    except ValidationError as invalid:
        return [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in invalid.errors()]
    return []


def _version() -> str:
    return POETRY["version"]


def test_metadata_yaml_validates_against_airbyte_s_connector_metadata_model():
    assert _errors(METADATA) == []


def test_the_model_reads_the_values_the_registry_publishes():
    data = ConnectorMetadataDefinitionV0.model_validate(METADATA).data

    assert (data.name, data.docker_image_tag, data.support_level.value, data.release_stage.value) == (
        "ChartMogul", "2.0.0", "community", "beta")
    assert (data.ab_internal.sl.value, data.ab_internal.ql.value) == (100, 300)
    assert (data.remote_registries.pypi.enabled, data.remote_registries.pypi.package_name) == (True, "airbyte-source-chartmogul")
    assert data.max_seconds_between_messages == 3600
    assert data.supports_refreshes is False  # unset: a destination's capability
    breaking = data.releases.breaking_changes
    assert sorted(breaking) == ["1.0.0", "2.0.0"]
    assert (str(breaking["2.0.0"].upgrade_deadline), breaking["2.0.0"].deadline_action.value) == ("2027-01-15", "disable")
    assert (str(breaking["1.0.0"].upgrade_deadline), breaking["1.0.0"].scoped_impact) == ("2023-11-29", None)


def _broken(change) -> Dict[str, Any]:
    metadata = copy.deepcopy(METADATA)
    change(metadata["data"])
    return metadata


BREAKING = ("releases", "breakingChanges", "2.0.0")


def _at(data, *path):
    for key in path:
        data = data[key]
    return data


@pytest.mark.parametrize(
    "change, error",
    [
        pytest.param(lambda d: d.pop("dockerImageTag"), "data/dockerImageTag: Field required", id="required field missing"),
        pytest.param(lambda d: d.update(dockerImagetag="2.0.0"), "data/dockerImagetag: Extra inputs are not permitted", id="misspelt key"),
        pytest.param(lambda d: d.update(connectorType="src"), "data/connectorType: Input should be 'destination' or 'source'", id="unknown connector type"),
        pytest.param(lambda d: d.update(definitionId="chartmogul"), "data/definitionId: Input should be a valid UUID", id="definition id not a uuid"),
        pytest.param(lambda d: d["allowedHosts"].update(hosts="api.chartmogul.com"), "data/allowedHosts/hosts: Input should be a valid list", id="allowed hosts not a list"),
        pytest.param(lambda d: d["allowedHosts"].update(hosts=[443]), "data/allowedHosts/hosts/0: Input should be a valid string", id="allowed host not a string"),
        pytest.param(lambda d: d.update(supportLevel="gold"), "data/supportLevel: Input should be 'community', 'certified' or 'archived'", id="unknown support level"),
        pytest.param(lambda d: d.update(releaseStage="ga"), "data/releaseStage: Input should be 'alpha', 'beta', 'generally_available' or 'custom'", id="unknown release stage"),
        pytest.param(lambda d: d["ab_internal"].update(sl=250), "data/ab_internal/sl: Input should be 0, 100, 200 or 300", id="internal support level off the scale"),
        pytest.param(lambda d: d.update(maxSecondsBetweenMessages="an hour"), "data/maxSecondsBetweenMessages: Input should be a valid integer", id="max seconds not a number"),
        pytest.param(lambda d: d["suggestedStreams"].update(streams="customers"), "data/suggestedStreams/streams: Input should be a valid list", id="suggested streams not a list"),
        pytest.param(lambda d: d["remoteRegistries"]["pypi"].pop("packageName"), "data/remoteRegistries/pypi/packageName: Field required", id="pypi without package name"),
        pytest.param(lambda d: _at(d, *BREAKING).pop("message"), "data/releases/breakingChanges/2.0.0/message: Field required", id="no message"),
        pytest.param(lambda d: _at(d, *BREAKING).pop("upgradeDeadline"), "data/releases/breakingChanges/2.0.0/upgradeDeadline: Field required", id="no deadline"),
        pytest.param(lambda d: _at(d, *BREAKING).update(upgradeDeadline="mid January"), "data/releases/breakingChanges/2.0.0/upgradeDeadline: Input should be a valid date", id="deadline not a date"),
        pytest.param(lambda d: _at(d, *BREAKING).update(deadlineAction="pause"), "data/releases/breakingChanges/2.0.0/deadlineAction: Input should be 'auto_upgrade' or 'disable'", id="unknown deadline action"),
        pytest.param(lambda d: _at(d, *BREAKING, "scopedImpact", 0).update(scopeType="field"), "data/releases/breakingChanges/2.0.0/scopedImpact/0/scopeType: Input should be 'stream'", id="scope type not stream"),
        pytest.param(lambda d: _at(d, *BREAKING, "scopedImpact", 0).update(impactedScopes=[]), "data/releases/breakingChanges/2.0.0/scopedImpact/0/impactedScopes: List should have at least 1 item", id="no impacted stream"),
        pytest.param(lambda d: _at(d, *BREAKING).update(scopedImpact=[]), "data/releases/breakingChanges/2.0.0/scopedImpact: List should have at least 1 item", id="empty scoped impact"),
    ],
)
def test_broken_metadata_fails_validation_naming_the_field(change, error):
    errors = _errors(_broken(change))

    assert len(errors) == 1 and errors[0].startswith(error), errors


def _discovered() -> Dict[str, Dict[str, Any]]:
    from airbyte_cdk.test.entrypoint_wrapper import discover

    from source_chartmogul.source import SourceChartmogul

    output = discover(SourceChartmogul(catalog=None, config=config(), state=None), config())
    return {s.name: {"primary_key": s.source_defined_primary_key, "schema": s.json_schema} for s in output.catalog.catalog.streams}


def _declared_type(schema: Dict[str, Any]) -> tuple:
    types = schema.get("type", [])
    return tuple(t for t in ([types] if isinstance(types, str) else types) if t != "null"), schema.get("format")


def test_breaking_change_of_the_version_names_exactly_the_1x_streams_that_changed():
    ours = _discovered()
    changed = set()
    for name, (primary_key, fields) in STREAMS_1X.items():
        if name not in ours or [[k] for k in primary_key] != ours[name]["primary_key"]:
            changed.add(name)  # gone, or keyed differently
            continue
        properties = ours[name]["schema"]["properties"]
        if any(field not in properties or _declared_type(properties[field]) != ((kind,), None) for field, kind in fields.items()):
            changed.add(name)  # a field renamed, removed or typed differently

    breaking = METADATA["data"]["releases"]["breakingChanges"][METADATA["data"]["dockerImageTag"]]

    assert METADATA["data"]["dockerImageTag"] == _version() == "2.0.0"
    assert [s["scopeType"] for s in breaking["scopedImpact"]] == ["stream"]
    assert set(breaking["scopedImpact"][0]["impactedScopes"]) == changed
    assert "https://docs.airbyte.com/integrations/sources/chartmogul-migrations" in breaking["message"]
    assert (ROOT / "docs" / "chartmogul-migrations.md").read_text().startswith("# ChartMogul Migration Guide\n\n## Upgrading to 2.0.0\n")
    assert "(chartmogul-migrations.md#upgrading-to-200)" in (ROOT / "docs" / "chartmogul.md").read_text()


def test_base_image_runs_python_3_11_which_the_package_supports():
    base_image = METADATA["data"]["connectorBuildOptions"]["baseImage"]
    requires_python = POETRY["dependencies"]["python"]

    assert base_image.startswith("docker.io/airbyte/python-connector-base:4.0.2@sha256:")  # 4.0.x: Python 3.11
    assert "3.11" in SpecifierSet(requires_python)
    assert {"language:python", "cdk:low-code"} <= set(METADATA["data"]["tags"])


def test_cdk_image_build_runs_the_console_script_that_pyproject_declares(tmp_path):
    """`airbyte-cdk image build`, with a stand-in `docker` that records its arguments: the build is FROM the pinned
    base image and CONNECTOR_NAME, the command the image's entrypoint runs, is pyproject's console script."""
    fake_bin, calls = tmp_path / "bin", tmp_path / "docker-calls.jsonl"
    fake_bin.mkdir()
    (fake_bin / "docker").write_text(f'#!{sys.executable}\nimport json, sys\n'
                                     f'open({str(calls)!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")\n')
    (fake_bin / "docker").chmod(0o755)
    (tmp_path / "source-chartmogul").symlink_to(ROOT)  # the CDK names the connector after its folder
    (tmp_path / "Dockerfile").write_text("# not built: docker is a stand-in in this test\n")

    done = subprocess.run(
        [str(Path(sys.executable).with_name("airbyte-cdk")), "image", "build", "source-chartmogul", "--no-verify",
         "--dockerfile", str(tmp_path / "Dockerfile")],
        cwd=tmp_path, env={**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    build = next(args for args in map(json.loads, calls.read_text().splitlines()) if args[:2] == ["buildx", "build"])
    build_args = dict(build[i + 1].split("=", 1) for i, arg in enumerate(build) if arg == "--build-arg")
    scripts = POETRY["scripts"]
    assert build_args["BASE_IMAGE"] == METADATA["data"]["connectorBuildOptions"]["baseImage"]
    assert scripts[build_args["CONNECTOR_NAME"]] == "source_chartmogul.source:run"
    assert "io.airbyte.version=2.0.0" in build and "io.airbyte.name=airbyte/source-chartmogul" in build
    assert Path(build[-1]).resolve() == ROOT  # the build context: this checkout


def test_cdk_picks_the_python_connector_dockerfile():
    from airbyte_cdk.models.connector_metadata import ConnectorLanguage, MetadataFile

    assert MetadataFile.from_file(ROOT / "metadata.yaml").data.language == ConnectorLanguage.PYTHON


def test_spec_changes_that_break_1x_configs_are_declared_so_the_cdk_spec_check_waives_them():
    """The CDK's image test compares the spec with the registry's latest (1.1.20) and fails on breaking changes unless
    `releases.breakingChanges` declares a version after it: the same functions, on the 1.x spec."""
    from airbyte_cdk.models import ConnectorSpecificationSerializer
    from airbyte_cdk.test.standard_tests._spec_compatibility import compare_specs, declared_breaking_changes

    from source_chartmogul.source import SourceChartmogul

    ours = ConnectorSpecificationSerializer.dump(SourceChartmogul(catalog=None, config=None, state=None).spec(None))

    assert compare_specs(SPEC_1X, ours).breaking == [
        "`connectionSpecification`: `interval` is now required",
        "`connectionSpecification.properties.api_key.minLength` was added, narrowing what a config may set",
    ]
    assert declared_breaking_changes(METADATA["data"], "1.1.20", METADATA["data"]["dockerImageTag"]) == ["2.0.0"]


def test_suggested_streams_are_every_discovered_stream_but_customer_subscriptions():
    """New connections preselect every stream except customer_subscriptions, whose one request per customer makes
    it the bulk of a sync; it stays selectable. A stream added later must be added to the list too."""
    suggested = METADATA["data"]["suggestedStreams"]["streams"]
    discovered = set(_discovered())

    assert "customer_subscriptions" in discovered
    assert len(suggested) == len(set(suggested))
    assert set(suggested) == discovered - {"customer_subscriptions"}
