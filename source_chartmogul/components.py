"""The one custom component of the manifest, and why it is custom.

The CDK's `DpathExtractor` finds a page's records with `dpath.get(body, ["invoices"])`, which walks every value of the
page, nested ones included, to find one key: `dpath` stops a search only at a *second* match, and a literal key
matches once. On ChartMogul's pages that walk was 38% of the customers stream's CPU and 59% of the invoices stream's
(cProfile; a page of 200 invoices holds about 18,000 JSON values: 12 ms of walking against 0.7 ms of JSON decoding).
No declarative component avoids it: a wildcard path walks too, `field_path: []` returns the whole envelope, and a
`RecordExpander` on it walks each record with `dpath.values`.

`RecordsKeyExtractor` is `DpathExtractor` with the path looked up key by key instead: the same records, in the same
order, from the same decoder, through the same `record_expander`, for every path without glob characters (the only
kind the manifest uses; a glob path is left to `dpath` as before). The Connector Builder cannot load custom code, so
`scripts/builder_manifest.py` writes the manifest the Builder imports with a plain `DpathExtractor` in its place;
`integration_tests/test_connector_builder.py` checks that both manifests read the same records on every stream.
Measured effect: benchmarks/sync_benchmark.py, README.md "Performance".
"""

from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, MutableMapping

import requests

from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor

_GLOB_CHARACTERS = ("*", "?", "[")  # what dpath reads as a pattern inside a path segment


def _lookup(body: Any, path: List[str], default: Any) -> Any:
    """`dpath.get(body, path, default=default)` for a path without globs, reading only the containers on the path: a
    mapping's key compared as a string, a list's item by its index."""
    value = body
    for segment in path:
        if isinstance(value, Mapping):
            if str(segment) not in value:
                return default
            value = value[str(segment)]
        elif isinstance(value, list):
            try:
                value = value[int(segment)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return value


@dataclass
class RecordsKeyExtractor(DpathExtractor):
    """A `DpathExtractor` that finds the records without walking the page (see the module's docstring)."""

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        path = [segment.eval(self.config) for segment in self._field_path]
        if not path or any(glob in str(segment) for segment in path for glob in _GLOB_CHARACTERS):
            yield from super().extract_records(response)  # the whole body, or a pattern: nothing to gain
            return
        for body in self.decoder.decode(response):
            extracted = _lookup(body, path, default=[])
            records = extracted if isinstance(extracted, list) else [extracted] if extracted else []
            if self.record_expander is None:
                yield from records
            else:
                for record in records:
                    yield from self.record_expander.expand_record(record)
