"""The manifest opens in the Connector Builder: what a user imports validates against the CDK's declarative component
schema, uses no custom Python component, resolves through the Builder's handler, and a Builder `test_read` of every
stream (single-threaded, no retries, the Builder's default page/slice limits) returns the expected records and no
error; and it reads the same records as the packaged connector, whose record extractor is custom.

The hosted Builder has the manifest and nothing else: the tests hide the connector package's files (as there) and
hand the Builder what a user imports, the output of scripts/builder_manifest.py (the manifest with its schemas
inlined and the custom extractor replaced by the DpathExtractor it stands for, see `_builder_manifest`).
"""

import copy
import json
import functools
import pkgutil
import subprocess
import sys
from typing import Any, Dict, List

import pytest
import yaml
from airbyte_cdk.connector_builder.connector_builder_handler import create_source, get_limits, read_stream, resolve_manifest
from airbyte_cdk.models import ConfiguredAirbyteCatalog, Type
from airbyte_cdk.test.entrypoint_wrapper import read as run_read
from airbyte_cdk.sources.declarative.concurrent_declarative_source import get_declarative_component_schema
from jsonschema import Draft7Validator

from integration_tests import conformance as c
from testkit.manifest import resolved_manifest, stream_names

MANIFEST = c.ROOT / "source_chartmogul" / "manifest.yaml"


def _manifest() -> Dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


@functools.lru_cache(maxsize=None)
def _builder_manifest() -> Dict[str, Any]:
    """What a user imports into the Builder: the output of scripts/builder_manifest.py (schemas inlined)."""
    done = subprocess.run([sys.executable, str(c.ROOT / "scripts" / "builder_manifest.py")], capture_output=True, text=True,
                          check=True, cwd=c.ROOT)
    manifest = yaml.safe_load(done.stdout)
    # What the Builder runs: the streams (definitions are resolved into them).
    loaders = [x["type"] for x in _components(manifest["streams"]) if x["type"].endswith("SchemaLoader")]
    assert loaders and set(loaders) == {"InlineSchemaLoader"}, "every stream, nested ones too, has its schema inlined"
    return manifest


def _builder_config(command: str, manifest: Dict[str, Any], **overrides: Any) -> Dict[str, Any]:
    """What the Builder sends: the user's config plus the command and the manifest."""
    return {**c.sample_config(), **overrides, "__command": command, "__injected_declarative_manifest": manifest}


@pytest.fixture(autouse=True)
def hosted_builder(monkeypatch):
    """As in the hosted Builder, the connector package's files cannot be read (the CDK reads them with pkgutil)."""
    c.discovered_streams(), resolved_manifest()  # computed from the package before it is hidden
    real_get_data = pkgutil.get_data

    def get_data(package: str, resource: str):
        if package.split(".")[0] == "source_chartmogul":
            raise FileNotFoundError(f"{package}/{resource}: the Connector Builder has no connector package")
        return real_get_data(package, resource)

    monkeypatch.setattr(pkgutil, "get_data", get_data)


def test_the_builder_simulation_hides_the_package_files():
    with pytest.raises(FileNotFoundError):
        pkgutil.get_data("source_chartmogul", "schemas/customers.json")


def _resolved_by_builder() -> Dict[str, Any]:
    config = _builder_config("resolve_manifest", _builder_manifest())
    message = resolve_manifest(create_source(config, get_limits(config)))
    assert message.type == Type.RECORD, message
    return message.record.data["manifest"]


def _schema_errors(manifest: Dict[str, Any]) -> List[str]:
    validator = Draft7Validator(get_declarative_component_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def _components(value: Any) -> List[Dict[str, Any]]:
    """Every component (a mapping with a `type`) anywhere in a manifest."""
    if isinstance(value, dict):
        return ([value] if isinstance(value.get("type"), str) else []) + [x for v in value.values() for x in _components(v)]
    if isinstance(value, list):
        return [x for v in value for x in _components(v)]
    return []


def test_resolved_manifest_validates_against_the_declarative_component_schema():
    assert _schema_errors(_resolved_by_builder()) == []


def test_schema_validation_rejects_a_broken_manifest():
    """The check above can fail: a misspelt component type in one stream is reported."""
    broken = copy.deepcopy(_resolved_by_builder())
    broken["streams"][0]["retriever"]["type"] = "SimpleRetreiver"
    assert _schema_errors(broken)


def _custom(manifest: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [x for x in _components(manifest) if x["type"].startswith("Custom") or "class_name" in x]


def test_what_the_builder_imports_uses_no_custom_python_component():
    components = _components(_resolved_by_builder())
    assert {"DeclarativeStream", "HttpRequester", "DefaultErrorHandler", "DpathExtractor"} <= {x["type"] for x in components}
    assert _custom(_resolved_by_builder()) == []


def test_the_packaged_manifest_s_custom_components_are_the_extractor_the_blanks_the_plan_names_filter_and_the_shared_invoice_pages():
    assert {(x["type"], x["class_name"]) for x in _custom(_manifest())} == {
        ("CustomRecordExtractor", "source_chartmogul.components.extractors.RecordsKeyExtractor"),
        ("CustomTransformation", "source_chartmogul.components.transformations.BlankAsNull"),
        ("CustomRecordFilter", "source_chartmogul.components.filters.PlanNamesFilter"),
        ("CustomRequester", "source_chartmogul.components.shared_pages.SharedPagesRequester")}


def test_the_builder_s_activities_keep_10_day_windows_from_start_date():
    (activities,) = [s for s in _builder_manifest()["streams"] if s["name"] == "activities"]
    cursor = activities["incremental_sync"]
    assert (cursor["step"], cursor["start_datetime"]["datetime"]) == ("P10D", "{{ config['start_date'] }}")
    assert "__activities" not in json.dumps(_builder_manifest())


def test_builder_resolves_every_stream_that_discover_reports():
    assert [s["name"] for s in _resolved_by_builder()["streams"]] == list(c.discovered_streams())


def _test_read(stream: str, **config_overrides: Any) -> Dict[str, Any]:
    config = _builder_config("test_read", copy.deepcopy(_builder_manifest()), **config_overrides)
    limits = get_limits(config)  # the Builder's defaults: 5 slices, 5 pages per slice, 100 records
    (configured,) = [s for s in c.configured_catalog().streams if s.stream.name == stream]
    catalog = ConfiguredAirbyteCatalog(streams=[configured])
    message = read_stream(create_source(config, limits, catalog, []), config, catalog, [], limits)
    assert message.type == Type.RECORD, message.trace.error.message if message.trace else message
    return message.record.data


@pytest.mark.parametrize("stream", stream_names())
def test_builder_test_read_returns_the_expected_records(stream: str):
    result = _test_read(stream)

    assert [log for log in result["logs"] if log["level"] in ("ERROR", "FATAL")] == []
    pages = [page for slice_ in result["slices"] for page in slice_["pages"]]
    assert pages and all(page["response"]["status"] == 200 for page in pages)
    # The Builder shows records as the API sent them: drop top-level nulls, as the protocol does.
    records = [{k: v for k, v in r.items() if v is not None} for page in pages for r in page["records"]]
    assert records, f"the Builder's test read of {stream} returned no record"
    expected = c.by_primary_key(stream, c.expected_data(stream))
    got = c.by_primary_key(stream, records)
    assert {k: expected.get(k) for k in got} == got, "records differ from expected_records.jsonl"
    if not result["test_read_limit_reached"]:
        assert got == expected, "a test read within the limits returns every record"


def test_builder_test_read_reports_a_rejected_key():
    """The test read above would show a failure: with a key ChartMogul rejects, the Builder logs our 401 message."""
    result = _test_read("customers", api_key=c.load_json(c.HERE / "invalid_config.json")["api_key"])
    errors = [log["message"] for log in result["logs"] if log["level"] in ("ERROR", "FATAL")]
    assert any("ChartMogul rejected the API key (401" in message for message in errors), errors


# --- The packaged connector and the Builder's manifest read the same records ---------------------------------------
def test_the_builder_s_manifest_and_the_packaged_connector_read_the_same_records_on_every_stream(monkeypatch):
    """Every stream, several pages each, from the simulated account: the packaged connector (RecordsKeyExtractor,
    BlankAsNull) and the Builder's manifest (DpathExtractor, AddFields), both run by the CDK in full, emit the same
    records (subscription events with "" amounts among them)."""
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

    from source_chartmogul.simulation import Dataset, SimulatedChartMogul
    from source_chartmogul.source import SourceChartmogul

    monkeypatch.undo()  # the packaged connector reads its own files here
    account = Dataset.generate(customers=320, activities=2_000, metric_days=40)  # 2 pages of customers and of invoices per data source
    catalog = c.configured_catalog()
    builder_manifest = copy.deepcopy(_builder_manifest())
    with SimulatedChartMogul(account, c.sample_config()["api_key"]) as simulation:
        config = {**c.sample_config(), "api_base_url": simulation.url, "start_date": "2026-09-20T00:00:00Z", "interval": "day"}
        packaged = run_read(SourceChartmogul(config=config, catalog=catalog, state=[]), config, catalog)
        builder = run_read(ConcurrentDeclarativeSource(source_config=builder_manifest, config=config, catalog=catalog, state=[]),
                           config, catalog)

    assert not packaged.errors and not builder.errors
    for stream in stream_names():
        ours, theirs = c.records_of(packaged, stream), c.records_of(builder, stream)
        assert len(ours) > (200 if stream in ("customers", "invoices", "invoice_line_items", "activities") else 0), stream
        assert c.by_primary_key(stream, ours) == c.by_primary_key(stream, theirs), stream
