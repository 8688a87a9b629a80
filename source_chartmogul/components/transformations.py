"""subscription_events' transformation, and why it is custom.

**BlankAsNull**, for subscription_events' `AddFields`. ChartMogul sends four of an event's fields as "" when unset,
and its reference shows amounts as strings ("100"); the `AddFields` turned "" into null and read the rest as the CDK
reads any rendered value, as a Python literal ("100" becomes 100). It renders a template for each field of each event:
about 170 µs of CPU per event, the second largest cost of a sync after activities (8.9 s of 46 s for the benchmark
account's selection without customer_subscriptions, which missed its target by that much). `BlankAsNull` gives the
same values without a template, for every value ChartMogul sends (see `_blank_as_null` for the one difference).
"""

import re
from dataclasses import InitVar, dataclass
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.sources.declarative.transformations.transformation import RecordTransformation

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
        for name in self.fields:  # not `field`: that is dataclasses' here
            record[name] = _blank_as_null(record.get(name))
