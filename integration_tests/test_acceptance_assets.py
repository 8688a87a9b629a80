"""acceptance-test-config.yml and its assets: well-formed for airbyte-ci's acceptance tests at `high` strictness,
in step with the manifest, and true of the connector — including the two checks the CDK's standard tests do not
run (exact expected records, no undeclared column), which are enforced here."""

from datetime import date, datetime
from typing import Any, Dict, List, Mapping

import jsonschema
import pytest
import yaml
from airbyte_cdk.models import AirbyteStateMessageSerializer, Status, SyncMode

from integration_tests import conformance as c
from testkit.connector import run_cli
from testkit.manifest import stream_names

# Keys airbyte-ci's acceptance-test config model (connector_acceptance_test/config.py) accepts, per section.
# Its models forbid unknown keys, so a misspelt key would fail the airbyte-ci run: fail here first.
CAT_KEYS = {
    "spec": {"spec_path", "config_path", "timeout_seconds", "deployment_mode", "backward_compatibility_tests_config",
             "auth_default_method"},
    "connection": {"config_path", "status", "timeout_seconds", "deployment_mode"},
    "discovery": {"config_path", "timeout_seconds", "deployment_mode", "backward_compatibility_tests_config",
                  "validate_primary_keys_data_type"},
    "basic_read": {"config_path", "deployment_mode", "configured_catalog_path", "empty_streams", "expect_records",
                   "validate_schema", "validate_stream_statuses", "validate_state_messages",
                   "validate_primary_keys_data_type", "fail_on_extra_columns", "validate_data_points",
                   "expect_trace_message_on_failure", "timeout_seconds", "file_types", "client_container_config"},
    "full_refresh": {"config_path", "configured_catalog_path", "timeout_seconds", "deployment_mode", "ignored_fields",
                     "client_container_config"},
    "incremental": {"config_path", "configured_catalog_path", "future_state", "timeout_seconds", "deployment_mode",
                    "skip_comprehensive_incremental_tests", "client_container_config"},
}
TOP_LEVEL_KEYS = {"connector_image", "acceptance_tests", "base_path", "test_strictness_level", "custom_environment_variables"}

# Each invalid config is sample_config.json with one field broken; `check` must fail for that reason.
INVALID_CONFIGS = {
    "invalid_config.json": ("api_key", "ChartMogul rejected the API key (401: No valid API key provided)"),
    "invalid_config_start_date.json": ("start_date", "Config error: 'Start date' (start_date) is not valid: '2024-01-01'"),
    "invalid_config_interval.json": ("interval", "Config error: 'Interval' (interval) is not valid: 'monthly'"),
}


def _paths_named(value: Any) -> List[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in ([v] if k.endswith("_path") or k == "path" else _paths_named(v))]
    if isinstance(value, list):
        return [p for v in value for p in _paths_named(v)]
    return []


def _bypass_reasons(value: Any) -> List[str]:
    if isinstance(value, dict):
        return [str(v) for k, v in value.items() if k == "bypass_reason"] + [r for v in value.values() for r in _bypass_reasons(v)]
    if isinstance(value, list):
        return [r for v in value for r in _bypass_reasons(v)]
    return []


# --- The config file itself ---------------------------------------------------------------------------------------
def test_acceptance_config_is_valid_for_airbyte_ci_at_high_strictness():
    config = c.acceptance_config()
    assert set(config) <= TOP_LEVEL_KEYS
    metadata = yaml.safe_load((c.ROOT / "metadata.yaml").read_text())["data"]
    assert config["connector_image"] == f"{metadata['dockerRepository']}:dev"
    assert config["test_strictness_level"] == "high"
    for section, tests in ((s, c.acceptance_tests(s)) for s in config["acceptance_tests"]):
        assert section in CAT_KEYS, f"unknown section {section}"
        for entry in tests:
            assert set(entry) <= CAT_KEYS[section], f"{section}: keys airbyte-ci rejects: {set(entry) - CAT_KEYS[section]}"
    for path in _paths_named(config):
        assert (c.ROOT / path).is_file(), f"acceptance-test-config.yml names {path}, which does not exist"
    assert _bypass_reasons(config) == [], "no test may be bypassed: the offline fake serves every stream"
    # High strictness: every section present; basic read compares records and has no empty stream.
    required = {"spec", "connection", "discovery", "basic_read", "full_refresh"} | ({"incremental"} if c.incremental_streams() else set())
    assert required <= set(config["acceptance_tests"])
    (basic_read,) = c.acceptance_tests("basic_read")
    assert basic_read["expect_records"] == {"path": "integration_tests/expected_records.jsonl", "exact_order": False}
    assert basic_read["fail_on_extra_columns"] is True and basic_read.get("validate_schema", True) is True
    assert not basic_read.get("empty_streams")
    assert set(c.ENFORCED_HERE) <= set(basic_read), "the keys enforced here must be the ones the config sets"


def test_every_read_section_uses_the_sample_config_and_the_configured_catalog():
    for section in ("basic_read", "full_refresh", "incremental"):
        for entry in c.acceptance_tests(section):
            assert entry["config_path"] == "integration_tests/sample_config.json"
            assert entry["configured_catalog_path"] == "integration_tests/configured_catalog.json"


def test_incremental_section_and_abnormal_state_cover_exactly_the_incremental_streams():
    incremental = set(c.incremental_streams())
    tests = c.acceptance_tests("incremental")
    future_states = {entry["future_state"]["future_state_path"] for entry in tests}
    if not incremental:
        assert not tests and not c.ABNORMAL_STATE.exists(), "no stream is incremental: no incremental section"
        return
    assert future_states == {"integration_tests/abnormal_state.json"}
    states = c.load_json(c.ABNORMAL_STATE)
    assert {s["stream"]["stream_descriptor"]["name"] for s in states} == incremental


# --- configured_catalog.json ------------------------------------------------------------------------------------
def test_configured_catalog_lists_every_discovered_stream_as_discover_describes_it():
    assert c.load_json(c.CONFIGURED_CATALOG) == c.catalog_from_discover(), (
        "configured_catalog.json is out of step with discover: regenerate it with "
        "`python -m integration_tests.conformance`"
    )
    assert [s.stream.name for s in c.configured_catalog().streams] == stream_names()


# --- expected_records.jsonl -------------------------------------------------------------------------------------
def _check_formats(value: Any, schema: Mapping[str, Any], where: str) -> None:
    """The schemas' `format`s, which jsonschema does not check by default: dates and date-times must parse."""
    if value is None:
        return
    fmt = schema.get("format")
    if fmt == "date-time":
        assert "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo, f"{where}: {value!r}"
    elif fmt == "date":
        date.fromisoformat(value)
    if isinstance(value, dict):
        for key, sub in value.items():
            _check_formats(sub, schema.get("properties", {}).get(key, {}), f"{where}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _check_formats(sub, schema.get("items", {}) if isinstance(schema.get("items"), dict) else {}, f"{where}[{i}]")


def test_expected_records_cover_every_stream_and_match_its_schema():
    rows = c.expected_records()
    streams = c.discovered_streams()
    assert {row["stream"] for row in rows} == set(streams), "every stream needs expected records, and only streams"
    for row in rows:
        assert set(row) == {"stream", "data", "emitted_at"} and isinstance(row["emitted_at"], int)
        stream, data = row["stream"], row["data"]
        schema = streams[stream].json_schema
        jsonschema.validate(data, schema)
        assert not set(data) - set(schema["properties"]), f"{stream}: undeclared fields {set(data) - set(schema['properties'])}"
        assert None not in data.values(), f"{stream}: the protocol omits top-level nulls, so must expected records"
        _check_formats(data, schema, stream)
    for stream in streams:
        c.by_primary_key(stream, c.expected_data(stream))  # no duplicate primary key


# --- The read, compared with expected_records.jsonl -------------------------------------------------------------
@pytest.fixture(scope="module")
def first_read(fake_chartmogul):
    return run_cli("read", c.sample_config(), c.configured_catalog())


def test_read_returns_exactly_the_expected_records(first_read):
    """`expect_records` (compared exactly: no missing, no extra record, every value equal) and
    `fail_on_extra_columns: true` (no record carries a field its schema does not declare)."""
    assert not first_read.errors, first_read.errors  # an uncaught exception is a TRACE error too
    schemas = {name: stream.json_schema for name, stream in c.discovered_streams().items()}
    for stream in stream_names():
        actual = c.records_of(first_read, stream)
        assert c.by_primary_key(stream, actual) == c.by_primary_key(stream, c.expected_data(stream)), stream
        for record in actual:
            jsonschema.validate(record, schemas[stream])
            assert not set(record) - set(schemas[stream]["properties"]), f"{stream}: extra columns"
        assert first_read.get_stream_statuses(stream)[-1].name == "COMPLETE", stream


def test_two_full_refresh_reads_return_the_same_records(first_read):
    """The acceptance tests' `full_refresh` check: a second read changes nothing."""
    second = run_cli("read", c.sample_config(), c.configured_catalog())
    assert not second.errors
    for stream in stream_names():
        assert c.by_primary_key(stream, c.records_of(second, stream)) == c.by_primary_key(stream, c.records_of(first_read, stream))


# --- The invalid configs ----------------------------------------------------------------------------------------
def test_invalid_configs_listed_are_the_ones_tested_here():
    failing = {entry["config_path"].split("/")[-1] for entry in c.acceptance_tests("connection") if entry["status"] == "failed"}
    assert failing == set(INVALID_CONFIGS)


@pytest.mark.parametrize("name", sorted(INVALID_CONFIGS))
def test_each_invalid_config_fails_check_for_its_own_reason(name: str, fake_chartmogul):
    field, message = INVALID_CONFIGS[name]
    invalid, sample = c.load_json(c.HERE / name), c.sample_config()
    assert {k for k in set(invalid) | set(sample) if invalid.get(k) != sample.get(k)} == {field}
    sent_before = fake_chartmogul.stats.requests

    output = run_cli("check", invalid)

    (status,) = [m.connectionStatus for m in output.connection_status_messages]
    assert status.status == Status.FAILED and message in status.message, status.message
    # A malformed value is refused before any request; only the wrong key reaches ChartMogul (once).
    assert fake_chartmogul.stats.requests - sent_before == (1 if field == "api_key" else 0)


def test_sample_config_passes_check(fake_chartmogul):
    (status,) = [m.connectionStatus for m in run_cli("check", c.sample_config()).connection_status_messages]
    assert status.status == Status.SUCCEEDED


# --- abnormal_state.json (acceptance tests' `future_state`) -------------------------------------------------------
def test_a_far_future_state_reads_no_old_record_and_keeps_the_state():
    incremental = c.incremental_streams()
    if not incremental:  # nothing to read incrementally: the incremental section must then be absent (tested above)
        assert not c.ABNORMAL_STATE.exists()
        return
    states = c.load_json(c.ABNORMAL_STATE)
    catalog = c.configured_catalog()
    catalog.streams = [s for s in catalog.streams if s.stream.name in incremental]
    assert all(s.sync_mode == SyncMode.incremental for s in catalog.streams)

    output = run_cli("read", c.sample_config(), catalog, states)

    assert not output.errors
    assert c.records_of(output) == [], "records older than the state's cursor must not be read again"
    given = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in states}
    emitted: Dict[str, Any] = {}
    for message in output.state_messages:
        state = AirbyteStateMessageSerializer.dump(message.state)["stream"]
        emitted[state["stream_descriptor"]["name"]] = state["stream_state"]
    for stream, state in given.items():
        for cursor, value in state.items():
            assert emitted[stream][cursor] >= value, f"{stream}: state went back from {value} to {emitted[stream][cursor]}"
