#!/usr/bin/env python3
"""Write the manifest as the Airbyte Connector Builder can import it: one YAML file, declarative components only.

    python scripts/builder_manifest.py > chartmogul-builder.yaml

The packaged connector differs from what the hosted Builder can load in two ways, and this prints the manifest with
`$ref`s resolved and both replaced by their declarative equivalents:
- it reads its schemas from `source_chartmogul/schemas/*.json` (JsonFileSchemaLoader), files the Builder does not
  have: each becomes an InlineSchemaLoader holding the same schema;
- its record extractor is a custom component (`source_chartmogul.components.RecordsKeyExtractor`, a DpathExtractor
  that does not walk the whole page), which the Builder does not run: each becomes the DpathExtractor it stands for,
  same field path, same record expander.
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


CUSTOM_EXTRACTOR = "source_chartmogul.components.RecordsKeyExtractor"


def _declarative_extractors(node: Any) -> None:
    """Replace every RecordsKeyExtractor in `node`, at any depth, by the DpathExtractor it stands for."""
    if isinstance(node, list):
        for item in node:
            _declarative_extractors(item)
    elif isinstance(node, dict):
        if node.get("type") == "CustomRecordExtractor":
            assert node.pop("class_name") == CUSTOM_EXTRACTOR, node
            node["type"] = "DpathExtractor"
        for value in node.values():
            _declarative_extractors(value)


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
    and every record extractor a DpathExtractor."""
    placeholder = {"api_key": "x" * 16, "start_date": "2017-01-25T00:00:00Z", "interval": "month"}
    manifest = SourceChartmogul(config=placeholder).resolved_manifest  # no request: resolution only
    _inline_schemas(manifest["streams"])
    _declarative_extractors(manifest)
    return manifest


if __name__ == "__main__":
    yaml.safe_dump(builder_manifest(), sys.stdout, sort_keys=False, allow_unicode=True)
