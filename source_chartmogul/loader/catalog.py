"""The connector's streams as the loader needs them: in the manifest's order, each with its primary key, cursor, JSON
schema and resolved definition, read from the packaged `manifest.yaml` and `schemas/`, and the configured catalog that
asks the connector to read a selection of them.

Why not the connector's `discover`: it needs the CDK, whose import alone takes 1.5 s (measured on the 2-core machine
the benchmark runs on), in a process of its own or in this one, before the read could start; the demo's first record
must come within 3 s. So the manifest is read here as the CDK reads it, with its one rule for references: a `$ref`
stands for the referenced object, whose keys the keys written beside the `$ref` replace (airbyte-cdk's
`ManifestReferenceResolver`). unit_tests/test_loader_catalog.py checks these streams against `discover` (names, order,
keys, cursors, schemas, sync modes), so the two cannot drift apart.
"""

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

PACKAGE = Path(__file__).resolve().parents[1]
MANIFEST = PACKAGE / "manifest.yaml"
SCHEMAS = PACKAGE / "schemas"


@dataclass(frozen=True)
class Stream:
    name: str
    primary_key: Tuple[str, ...]
    cursor_field: str  # the cursor of an incremental stream; "" for a stream read in full only
    json_schema: Mapping[str, Any]
    definition: Mapping[str, Any]  # the stream as the manifest defines it, references resolved

    @property
    def incremental(self) -> bool:
        return bool(self.cursor_field)


def resolve(node: Any, root: Mapping[str, Any]) -> Any:
    """`node` with every `$ref` replaced by what it names (a JSON pointer into `root`, e.g. "#/definitions/a/0"),
    updated with the keys beside it."""
    if isinstance(node, list):
        return [resolve(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    own = {key: resolve(value, root) for key, value in node.items() if key != "$ref"}
    if "$ref" not in node:
        return own
    target: Any = root
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[int(part)] if isinstance(target, list) else target[part]
    referenced = resolve(target, root)
    return {**referenced, **own} if isinstance(referenced, dict) else referenced


@functools.lru_cache(maxsize=None)
def streams() -> Dict[str, Stream]:
    """The connector's streams, in the manifest's order (the order its read starts them in)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # PyYAML's C parser when built with it: 6 ms, not 50
    manifest = yaml.load(MANIFEST.read_text(), Loader=loader)
    found = {}
    for definition in (resolve(stream, manifest) for stream in manifest["streams"]):
        name = definition["$parameters"]["name"]
        schema_path = definition["schema_loader"]["file_path"].replace("{{ parameters.name }}", name)
        key = definition.get("primary_key") or []
        found[name] = Stream(
            name=name,
            primary_key=tuple([key] if isinstance(key, str) else key),
            cursor_field=(definition.get("incremental_sync") or {}).get("cursor_field", ""),
            json_schema=json.loads((PACKAGE.parent / schema_path).read_text()),
            definition=definition,
        )
    return found


def choose(available: Mapping[str, Stream], only: Optional[str], exclude: Optional[str]) -> list:
    """The streams to read, in the connector's order: those `only` names (comma-separated; all when None), less those
    `exclude` names. A name the connector does not have is a ValueError naming it and the valid names."""
    def names(option: str, value: Optional[str]) -> list:
        listed = [name.strip() for name in (value or "").split(",") if name.strip()]
        unknown = [name for name in listed if name not in available]
        if unknown:
            raise ValueError(f"{option} names {'streams' if len(unknown) > 1 else 'a stream'} the connector does not "
                             f"have: {', '.join(unknown)}. Valid names: {', '.join(available)}.")
        return listed

    chosen, skipped = names("--streams", only) or list(available), names("--exclude", exclude)
    selected = [name for name in available if name in chosen and name not in skipped]
    if not selected:
        raise ValueError(f"no stream left to read. Valid names: {', '.join(available)}.")
    return selected


def configured_catalog(selected: Iterable[Stream], incremental: Iterable[str]) -> Dict[str, Any]:
    """The configured catalog of a read (Airbyte protocol JSON): the `selected` streams, those named in `incremental`
    read incrementally (from the state the read is given), the others in full."""
    incremental = set(incremental)
    catalog = []
    for stream in selected:
        modes = ["full_refresh", "incremental"] if stream.incremental else ["full_refresh"]
        entry = {
            "stream": {"name": stream.name, "json_schema": stream.json_schema, "supported_sync_modes": modes,
                       **({"source_defined_cursor": True, "default_cursor_field": [stream.cursor_field]} if stream.incremental else {}),
                       "source_defined_primary_key": [[key] for key in stream.primary_key]},
            "sync_mode": "incremental" if stream.name in incremental else "full_refresh",
            "destination_sync_mode": "append",
        }
        if stream.name in incremental:
            entry["cursor_field"] = [stream.cursor_field]
        catalog.append(entry)
    return {"streams": catalog}


_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9]")


def column_name(field: str) -> str:
    """A table's or column's name for a stream or field: lower case, each character outside [a-z0-9] as `_`, and `_`
    before a leading digit (PyAirbyte's names, which the files it wrote keep: `customer-since` is `customer_since`)."""
    name = _NOT_A_NAME_CHARACTER.sub("_", field.lower())
    return f"_{name}" if name[:1].isdigit() else name
