"""discover: exactly the streams the docs list, each with its documented primary key and a non-empty schema."""

import re
from pathlib import Path

from testkit.connector import run_cli
from unit_tests.builders import config

DOCS = Path(__file__).resolve().parents[1] / "docs" / "chartmogul.md"


def _documented_streams() -> dict:
    """Stream → primary key, from the 'Supported Streams' table of docs/chartmogul.md."""
    section = DOCS.read_text().split("## Supported Streams", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n| ", 1)[1].split("\n\n", 1)[0]  # the section's first table
    rows = [line.split("|")[1:-1] for line in ("| " + table).splitlines()]
    header = [cell.strip() for cell in rows[0]]
    stream_col, pk_col = header.index("Stream"), header.index("Primary key")
    return {row[stream_col].strip(): re.findall(r"`([^`]+)`", row[pk_col]) for row in rows[2:] if row[stream_col].strip()}


def test_discover_returns_exactly_the_documented_streams_and_primary_keys():
    output = run_cli("discover", config())

    discovered = {s.name: s for s in output.catalog.catalog.streams}
    documented = _documented_streams()
    assert sorted(discovered) == sorted(documented)
    for name, stream in discovered.items():
        assert stream.source_defined_primary_key == [[key] for key in documented[name]], name
        assert stream.json_schema["properties"], f"{name} has an empty schema"
