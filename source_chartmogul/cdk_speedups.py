"""Two of the CDK's costs per record of an incremental stream, cut without changing a value.

For each record of activities, the CDK's `ConcurrentCursor.observe` parses the record's `date` with `strptime` and looks
up the record's date window in a dictionary twice (get, then set), and `StreamSlice.__hash__` serialises the window to
JSON and hashes it with SHA-256 at every lookup. Measured (benchmarks/sync_benchmark.py --streams --only activities,
median of 3, 200,000 activities; README.md "Performance"): those two cost 42% of the stream's CPU; without them it
reads 72% more records per CPU second. Nothing in a manifest reaches either (a custom cursor would leave the CDK's
concurrent runtime), so the entrypoint installs, once per process:

- `StreamSlice.__hash__` computed once per slice and kept on it: a slice cannot be changed (its `__setitem__` raises),
  so its hash cannot change either;
- `DatetimeParser.parse` reading `%Y-%m-%dT%H:%M:%S%z` values in exactly ChartMogul's shape
  (`2025-01-31T23:59:59+00:00`) with `datetime.fromisoformat`, which gives the same datetime; every other value or
  format goes to the CDK's own `strptime` as before.

Both are process-wide and change only speed: `unit_tests/test_cdk_speedups.py` checks the same hashes and datetimes (or
the same `ValueError`) on a range of values, and fails if an upgrade of the CDK moves either function. The Connector
Builder, which runs the manifest without this module, reads the same records and state.
"""

import datetime
import re
from typing import Any, Union

from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.types import StreamSlice

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Only values whose every field is in the range strptime accepts for its directive (seconds 0-59): anything else, valid
# for strptime or not, goes to the CDK's strptime.
_CHARTMOGUL_DATETIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][+-]([01][0-9]|2[0-3]):[0-5][0-9]",
    re.ASCII)

cdk_slice_hash = StreamSlice.__hash__
cdk_parse = DatetimeParser.parse


def slice_hash_once(self: StreamSlice) -> int:
    """`StreamSlice.__hash__`, computed at the first call and kept on the slice."""
    try:
        return self.__dict__["_chartmogul_hash"]
    except KeyError:
        value = self.__dict__["_chartmogul_hash"] = cdk_slice_hash(self)
        return value


def parse_iso_fast(self: DatetimeParser, date: Union[str, int], format: str) -> datetime.datetime:
    """`DatetimeParser.parse`, with ChartMogul's `+00:00` dates read by `fromisoformat` instead of `strptime`."""
    if format == ISO_FORMAT and isinstance(date, str) and _CHARTMOGUL_DATETIME.fullmatch(date):
        return datetime.datetime.fromisoformat(date)
    return cdk_parse(self, date, format)


def install() -> None:
    """Install both (idempotent)."""
    StreamSlice.__hash__ = slice_hash_once  # type: ignore[method-assign]
    DatetimeParser.parse = parse_iso_fast  # type: ignore[method-assign]


def installed() -> Any:
    return StreamSlice.__hash__ is slice_hash_once and DatetimeParser.parse is parse_iso_fast
