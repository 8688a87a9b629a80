"""The streams by plan's filter of the plans they read, and why it is custom.

**PlanNamesFilter**, for the `RecordFilter` on the plans list that the streams by plan take their plan names from. Not
for speed: ChartMogul's metrics filter `plans` is a comma-separated list of names, so a plan whose name holds a comma
cannot be asked for alone, and its metrics are skipped. The user must learn that, and which plan it was: a
`RecordFilter` drops records without a word, so this one logs each plan it drops, once per name and stream. It keeps
exactly the plans the RecordFilter (its `condition`) keeps.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter

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
