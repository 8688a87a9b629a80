#!/usr/bin/env python3
"""Write the manifest as the Airbyte Connector Builder can import it: one YAML file that carries its schemas.

    python scripts/builder_manifest.py > chartmogul-builder.yaml

The packaged connector reads its schemas from `source_chartmogul/schemas/*.json` (JsonFileSchemaLoader), files the
hosted Builder does not have. This prints the manifest with `$ref`s resolved and each of those loaders replaced by
an InlineSchemaLoader holding the same schema, so the Builder shows and tests exactly what the connector runs.
`integration_tests/test_connector_builder.py` test-reads every stream of this output through the Builder's handler.
"""

import json
import sys
from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from source_chartmogul.source import SourceChartmogul  # noqa: E402


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
    """The resolved manifest with every JSON-file schema inlined (streams, and parent streams of partition routers)."""
    placeholder = {"api_key": "x" * 16, "start_date": "2017-01-25T00:00:00Z", "interval": "month"}
    manifest = SourceChartmogul(config=placeholder).resolved_manifest  # no request: resolution only
    _inline_schemas(manifest["streams"])
    return manifest


if __name__ == "__main__":
    yaml.safe_dump(builder_manifest(), sys.stdout, sort_keys=False, allow_unicode=True)
