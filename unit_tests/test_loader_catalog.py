"""The loader's view of the connector's streams (source_chartmogul/loader/catalog.py), read from the packaged manifest
without the CDK: the same streams, keys, cursors and schemas as `discover`, the configured catalog it sends, the
names it gives tables and columns, and the streams a user chooses."""

import subprocess
import sys

import pytest

from source_chartmogul.loader import catalog
from unit_tests.builders import config, run_cli

STREAMS = catalog.streams()


def test_the_streams_are_discover_s_in_its_order_with_the_same_keys_cursors_schemas_and_sync_modes():
    discovered = run_cli("discover", config()).catalog.catalog.streams

    assert list(STREAMS) == [stream.name for stream in discovered]
    for stream in discovered:
        ours = STREAMS[stream.name]
        assert dict(ours.json_schema) == stream.json_schema
        assert [[key] for key in ours.primary_key] == stream.source_defined_primary_key
        assert ([ours.cursor_field] if ours.incremental else None) == stream.default_cursor_field
        assert catalog.configured_catalog([ours], [])["streams"][0]["stream"]["supported_sync_modes"] == \
            [mode.value for mode in stream.supported_sync_modes]


def test_the_definitions_are_the_cdk_s_resolved_manifest_stream_for_stream():
    from source_chartmogul.source import SourceChartmogul

    resolved = SourceChartmogul(config=config()).resolved_manifest["streams"]

    for definition in resolved:
        ours = STREAMS[definition["name"]].definition
        # The CDK also copies each $parameters value into every component below it; apart from those copies the
        # definitions are the same, key for key.
        copied = _parameter_names(ours) | {"$parameters", "parameters"}
        assert _without(ours, copied) == _without(definition, copied), definition["name"]


def _parameter_names(node) -> set:
    if isinstance(node, dict):
        return set(node.get("$parameters", {})) | {n for value in node.values() for n in _parameter_names(value)}
    if isinstance(node, list):
        return {n for item in node for n in _parameter_names(item)}
    return set()


def _without(node, keys: set):
    if isinstance(node, dict):
        return {k: _without(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_without(item, keys) for item in node]
    return node


def test_reading_the_streams_does_not_import_the_cdk():
    probe = "import sys; from source_chartmogul.loader import catalog; catalog.streams(); print('airbyte_cdk' in sys.modules)"

    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "False"


def test_a_reference_is_the_referenced_object_updated_with_the_keys_beside_it():
    root = {"definitions": {"base": {"type": "A", "keep": 1, "nested": {"x": 1}}, "items": [{"n": 0}, {"n": 1}]}}

    assert catalog.resolve({"$ref": "#/definitions/base", "type": "B", "nested": {"y": 2}}, root) == \
        {"type": "B", "keep": 1, "nested": {"y": 2}}  # keys beside replace, they do not merge
    assert catalog.resolve([{"$ref": "#/definitions/items/1"}], root) == [{"n": 1}]


def test_the_configured_catalog_reads_the_incremental_streams_named_incrementally_and_the_others_in_full():
    request = catalog.configured_catalog([STREAMS["customers"], STREAMS["activities"]], ["activities"])

    (customers, activities) = request["streams"]
    assert (customers["sync_mode"], customers["stream"]["name"]) == ("full_refresh", "customers")
    assert (activities["sync_mode"], activities["cursor_field"]) == ("incremental", ["date"])
    assert activities["stream"]["json_schema"] == STREAMS["activities"].json_schema
    assert all(stream["destination_sync_mode"] == "append" for stream in request["streams"])


@pytest.mark.parametrize("field, column", [
    ("customer-since", "customer_since"), ("activity-mrr-movement", "activity_mrr_movement"), ("uuid", "uuid"),
    ("Billing System URL", "billing_system_url"), ("Équipe", "_quipe"), ("2fa", "_2fa"), ("a.b", "a_b"),
])
def test_a_column_is_named_as_pyairbyte_named_it(field, column):
    assert catalog.column_name(field) == column


@pytest.mark.parametrize("only, exclude, message", [
    ("customers,custmers", None, "--streams names a stream the connector does not have: custmers."),
    (None, "subscriptions,notes,account_x", "--exclude names streams the connector does not have: subscriptions, account_x."),
    ("notes", "notes", "no stream left to read."),
])
def test_a_stream_the_connector_does_not_have_is_refused_with_the_valid_names(only, exclude, message):
    with pytest.raises(ValueError) as refused:
        catalog.choose(STREAMS, only, exclude)

    assert str(refused.value) == f"{message} Valid names: {', '.join(STREAMS)}."


def test_chosen_streams_come_in_the_connector_s_order_less_the_excluded_ones():
    assert catalog.choose(STREAMS, " notes, customers ,activities", "activities") == ["customers", "notes"]
    assert catalog.choose(STREAMS, None, "customer_subscriptions") == list(STREAMS)[:-1]
    assert catalog.choose(STREAMS, None, None) == list(STREAMS)
