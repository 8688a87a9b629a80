#!/usr/bin/env python3
"""Write the manifest as the Airbyte Connector Builder can import it: one YAML file, declarative components only.

    python scripts/builder_manifest.py > chartmogul-builder.yaml

The packaged connector differs from what the hosted Builder can load in two ways, and this prints the manifest with
`$ref`s resolved and both replaced by their declarative equivalents:
- it reads its schemas from `source_chartmogul/schemas/*.json` (JsonFileSchemaLoader), files the Builder does not
  have: each becomes an InlineSchemaLoader holding the same schema;
- four of its components are custom (`source_chartmogul/components/`: three for speed, one for a log line), which
  the Builder does not run: each becomes the declarative component it stands for: every `RecordsKeyExtractor` the
  DpathExtractor with the same field path and record expander, subscription_events' `BlankAsNull` an AddFields that
  renders the same values, the streams by plan's `PlanNamesFilter` the RecordFilter with its condition (the same plans,
  without the log line naming each plan left out), the invoice streams' `SharedPagesRequester` the HttpRequester it
  holds (each stream then reads the pages for itself);
- the activities cursor takes its window start and size from two config keys the entrypoint sets after one request
  for the first activity (`read_plan.plan_activity_windows`): the Builder keeps today's 10-day windows from
  start_date.
`integration_tests/test_connector_builder.py` test-reads every stream of this output through the Builder's handler,
and checks that it reads the same records as the packaged connector.
"""

import json
import sys
from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from source_chartmogul.source import SourceChartmogul  # noqa: E402


def _blank_as_null_fields(custom: Dict[str, Any]) -> Dict[str, Any]:
    """The AddFields that BlankAsNull stands for: "" becomes null, any other value is rendered and read back as the
    CDK reads a rendered value (a Python literal: "100" becomes 100)."""
    value = "{{{{ record.get('{0}') if record.get('{0}') != '' else None }}}}"
    return {"type": "AddFields", "fields": [{"type": "AddedFieldDefinition", "path": [field], "value": value.format(field)}
                                            for field in custom["fields"]]}


DECLARATIVE = {  # custom component → the declarative component it stands for
    "source_chartmogul.components.extractors.RecordsKeyExtractor": lambda custom: {**custom, "type": "DpathExtractor"},
    "source_chartmogul.components.transformations.BlankAsNull": _blank_as_null_fields,
    # The same plans kept by the same condition; only PlanNamesFilter's log line of each plan left out is lost.
    "source_chartmogul.components.filters.PlanNamesFilter": lambda custom: {**custom, "type": "RecordFilter"},
    # each stream reads its pages for itself: the same records, one request per page per stream
    "source_chartmogul.components.shared_pages.SharedPagesRequester": lambda custom: custom["requester"],
}
# The activities cursor's window start and size, which the entrypoint plans from one request for the first activity
# (read_plan.plan_activity_windows): the Builder keeps today's, 10-day windows from start_date.
TODAYS_WINDOWS = {"{{ config.get('__activities_start') or config['start_date'] }}": "{{ config['start_date'] }}",
                  "{{ config.get('__activities_step') or 'P10D' }}": "P10D",
                  "{{ config.get('__workers') or 12 }}": 12}  # the threads: extra ones only for shared invoice pages


def _declarative_components(node: Any) -> Any:
    """`node` with every custom component, at any depth, replaced by the declarative component it stands for."""
    if isinstance(node, list):
        return [_declarative_components(item) for item in node]
    if isinstance(node, str):
        return TODAYS_WINDOWS.get(node, node)
    if not isinstance(node, dict):
        return node
    if "class_name" in node:
        custom = {key: value for key, value in node.items() if key not in ("type", "class_name")}
        node = DECLARATIVE[node["class_name"]](custom)
    return {key: _declarative_components(value) for key, value in node.items()}


def _inline_schemas(node: Any) -> None:
    """Replace the JSON-file schema of every stream in `node`, at any depth: the streams, and the streams nested in
    them (the parent streams of customer_subscriptions, invoices and subscription_events)."""
    if isinstance(node, list):
        for item in node:
            _inline_schemas(item)
    elif isinstance(node, dict):
        loader = node.get("schema_loader") or {}
        if node.get("type") == "DeclarativeStream" and loader.get("type") == "JsonFileSchemaLoader":
            assert loader["file_path"].endswith("/schemas/{{ parameters.name }}.json"), loader["file_path"]
            schema = json.loads((ROOT / "source_chartmogul" / "schemas" / f"{node['name']}.json").read_text())
            node["schema_loader"] = {"type": "InlineSchemaLoader", "schema": schema}
        for value in node.values():
            _inline_schemas(value)


def builder_manifest() -> Dict[str, Any]:
    """The resolved manifest with every JSON-file schema inlined (streams, and parent streams of partition routers)
    and every custom component replaced by its declarative equivalent."""
    placeholder = {"api_key": "x" * 16, "start_date": "2017-01-25T00:00:00Z", "interval": "month"}
    manifest = SourceChartmogul(config=placeholder).resolved_manifest  # no request: resolution only
    _inline_schemas(manifest["streams"])
    return _declarative_components(manifest)


if __name__ == "__main__":
    yaml.safe_dump(builder_manifest(), sys.stdout, sort_keys=False, allow_unicode=True)
