"""The manifest's three custom components, and why they are custom. Each stands for a declarative one that the Connector
Builder's manifest keeps in its place (`scripts/builder_manifest.py`), and `integration_tests/test_connector_builder.py`
checks that both manifests read the same records on every stream. Measured effect: benchmarks/sync_benchmark.py,
README.md "Performance".

**RecordsKeyExtractor**, for the `DpathExtractor`.

The CDK's `DpathExtractor` finds a page's records with `dpath.get(body, ["invoices"])`, which walks every value of the
page, nested ones included, to find one key: `dpath` stops a search only at a *second* match, and a literal key
matches once. On ChartMogul's pages that walk was 38% of the customers stream's CPU and 59% of the invoices stream's
(cProfile; a page of 200 invoices holds about 18,000 JSON values: 12 ms of walking against 0.7 ms of JSON decoding).
Its `RecordExpander`, which makes the invoice_line_items and invoice_transactions records, walks each invoice again
(`dpath.values`) and writes each copied field with `dpath.new`: 38% of invoice_line_items' CPU. No declarative
component avoids either walk: a wildcard path walks too, `field_path: []` returns the whole envelope, and the expander
is the only declarative way to make one record per nested item.

`RecordsKeyExtractor` is `DpathExtractor` with the path looked up key by key instead, and, for an expander that only
copies top-level fields of each record onto the items of one of its top-level lists (what the manifest's do), that
expansion done with plain dictionary operations: the same records, in the same order, from the same decoder. Any
other path (a glob) or expander (merging the parent, embedding it, truncated lists, nested paths) runs the CDK's own
code as before.

**BlankAsNull**, for subscription_events' `AddFields`. ChartMogul sends four of an event's fields as "" when unset,
and its reference shows amounts as strings ("100"); the `AddFields` turned "" into null and read the rest as the CDK
reads any rendered value, as a Python literal ("100" becomes 100). It renders a template for each field of each event:
about 170 µs of CPU per event, the second largest cost of a sync after activities (8.9 s of 46 s for the benchmark
account's selection without customer_subscriptions, which missed its target by that much). `BlankAsNull` gives the
same values without a template, for every value ChartMogul sends (see `_blank_as_null` for the one difference).

**PlanNamesFilter**, for the `RecordFilter` on the plans list that the streams by plan take their plan names from. Not
for speed: ChartMogul's metrics filter `plans` is a comma-separated list of names, so a plan whose name holds a comma
cannot be asked for alone, and its metrics are skipped. The user must learn that, and which plan it was: a
`RecordFilter` drops records without a word, so this one logs each plan it drops, once per name and stream. It keeps
exactly the plans the RecordFilter (its `condition`) keeps.
"""

import copy
import logging
import re
import threading
from dataclasses import InitVar, dataclass
from typing import Any, Dict, Iterable, List, Mapping, MutableMapping, Optional, Tuple

import requests

from airbyte_cdk.sources.declarative.expanders.record_expander import OnNoRecords
from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.transformations.transformation import RecordTransformation

_GLOB_CHARACTERS = ("*", "?", "[")  # what dpath reads as a pattern inside a path segment


def _plain(path: List[Any]) -> bool:
    return all(not any(glob in str(segment) for glob in _GLOB_CHARACTERS) for segment in path)


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
    """A `DpathExtractor` that neither walks the page nor, for a simple expander, each record (see the module)."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._expansion = self._simple_expansion(parameters)

    def _simple_expansion(self, parameters: Mapping[str, Any]) -> Optional[Tuple[str, List[Tuple[str, str]]]]:
        """(the nested list's key, [(parent field, item field)]) when the expander copies top-level fields of each
        record onto the items of one of its top-level lists and does nothing else; None otherwise."""
        expander = self.record_expander
        if expander is None or expander.remain_original_record or expander.merge_parent or \
                expander.truncation_indicator_path or expander.on_no_records != OnNoRecords.skip:
            return None
        path = [InterpolatedString.create(segment, parameters=parameters).eval(self.config)
                for segment in expander.expand_records_from_field]
        copies = [(field.evaluated_parent_path(), field.evaluated_record_path()) for field in expander.parent_fields or []]
        if len(path) != 1 or not _plain(path) or any(len(p) != 1 or len(r) != 1 or not _plain(p + r) for p, r in copies):
            return None
        return str(path[0]), [(str(p[0]), str(r[0])) for p, r in copies]

    def _expand(self, record: Any) -> Iterable[Any]:
        """What the CDK's RecordExpander yields for `record`, in the simple case `_simple_expansion` describes."""
        nested, copies = self._expansion  # type: ignore[misc]
        items = record.get(nested) if isinstance(record, Mapping) else None
        if not isinstance(record, Mapping):
            yield record  # the expander yields what it cannot expand as it is
            return
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) and not copies:
                yield item
                continue
            child = dict(item) if isinstance(item, dict) else {"value": item}
            for source, target in copies:  # a missing field copies null; a container is copied, not shared
                value = record.get(source)
                child[target] = copy.deepcopy(value) if isinstance(value, (Mapping, list, set, tuple)) else value
            yield child

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        path = [segment.eval(self.config) for segment in self._field_path]
        if not path or not _plain(path):
            yield from super().extract_records(response)  # the whole body, or a pattern: nothing to gain
            return
        for body in self.decoder.decode(response):
            extracted = _lookup(body, path, default=[])
            records = extracted if isinstance(extracted, list) else [extracted] if extracted else []
            if self.record_expander is None:
                yield from records
            elif self._expansion is not None:
                for record in records:
                    yield from self._expand(record)
            else:
                for record in records:
                    yield from self.record_expander.expand_record(record)


_INTEGER = re.compile(r"[ \t]*[+-]?(?:0|[1-9][0-9]*)\s*")  # an int as Python reads one: no leading zero


def _blank_as_null(value: Any) -> Any:
    """"" (or null) becomes null; the text of a whole number becomes that number ("100" becomes 100); anything else
    is kept. What the AddFields gives for every value ChartMogul sends (integers, integer text, "", currency codes):
    it reads any rendered text as a Python literal, so it would also turn "1.5", "True" or "[1]" into a float, a
    boolean or a list, which no integer amount or currency code is. (Not `ast.literal_eval`: on Python 3.11.7 it
    failed with "AST constructor recursion depth mismatch" when the threads of three chains called it at once,
    CPython issue 106905.)"""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value.strip())
    return value


@dataclass
class BlankAsNull(RecordTransformation):
    """Each of `fields` (added as null where the record lacks it): "" becomes null, "100" becomes 100; see the module."""

    fields: List[str]
    parameters: InitVar[Mapping[str, Any]]

    def transform(self, record: Dict[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Optional[Mapping[str, Any]] = None, stream_slice: Optional[Mapping[str, Any]] = None) -> None:
        for field in self.fields:
            record[field] = _blank_as_null(record.get(field))


@dataclass
class PlanNamesFilter(RecordFilter):
    """The plans whose name can be sent alone in ChartMogul's `plans` filter: not empty, no comma. Each plan left out
    is logged once per name (a name comes once per data source). `condition` is the declarative RecordFilter's, which
    the Connector Builder's manifest keeps; this filter keeps the same plans (unit_tests/test_components.py)."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._stream = parameters.get("by_plan_stream") or "the streams by plan"
        self._logged: set = set()
        self._lock = threading.Lock()

    def filter_records(self, records: Iterable[Mapping[str, Any]], stream_state: Any, stream_slice: Any = None,
                       next_page_token: Any = None) -> Iterable[Mapping[str, Any]]:
        for record in records:
            name = record.get("name")
            if isinstance(name, str) and name and "," not in name:
                yield record
                continue
            with self._lock:
                first = name not in self._logged
                self._logged.add(name)
            if first:
                _LOGGER.warning(_skipped_plan_message(name, record.get("uuid"), self._stream))


_LOGGER = logging.getLogger("airbyte")


def _skipped_plan_message(name: Any, uuid: Any, stream: str) -> str:
    if isinstance(name, str) and name:
        return (f"{stream}: skipped the plan {name!r} ({uuid}): its name contains a comma, which ChartMogul's `plans` "
                f"filter reads as a separator between plan names, so its metrics cannot be asked for alone. Rename the "
                f"plan in ChartMogul without a comma to read its metrics; the account's metrics still include it.")
    return (f"{stream}: skipped the plan {uuid}: it has no name, and ChartMogul's `plans` filter selects plans by name. "
            f"Give the plan a name in ChartMogul to read its metrics; the account's metrics still include it.")
