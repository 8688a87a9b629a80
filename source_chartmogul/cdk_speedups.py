"""Three of the CDK's costs per page and per record, cut without changing a value.

For each record of activities, the CDK's `ConcurrentCursor.observe` parses the record's `date` with `strptime` and looks
up the record's date window in a dictionary twice (get, then set), and `StreamSlice.__hash__` serialises the window to
JSON and hashes it with SHA-256 at every lookup. Measured (benchmarks/sync_benchmark.py --streams --only activities,
median of 3, 200,000 activities; docs/performance.md): those two cost 42% of the stream's CPU; without them it
reads 72% more records per CPU second. Nothing in a manifest reaches either (a custom cursor would leave the CDK's
concurrent runtime), so the entrypoint installs, once per process:

- `StreamSlice.__hash__` computed once per slice and kept on it: a slice cannot be changed (its `__setitem__` raises),
  so its hash cannot change either;
- `DatetimeParser.parse` reading `%Y-%m-%dT%H:%M:%S%z` values in exactly ChartMogul's shape
  (`2025-01-31T23:59:59+00:00`) with `datetime.fromisoformat`, which gives the same datetime; every other value or
  format goes to the CDK's own `strptime` as before.

And for every stream: the error handler's last filter (is the answer ChartMogul's JSON envelope?) has the CDK parse
every page with `requests`' `response.json()`, the standard library's parser, before the record extractor parses it
again with `orjson`. Measured: 22% of the CPU of a sync of every stream but customer_subscriptions (43.0 s with the
check, 33.7 s without it), and the paginator's `JsonDecoder` parses it a third time, for `cursor` and `has_more`. So:

- `HttpResponseFilter._safe_response_json` parses a UTF-8 answer whose body is a JSON object with `orjson` and keeps it
  on the response; any other answer (a list, not JSON, another charset, a number `orjson` refuses) goes to the CDK's
  own `response.json()` as before;
- `JsonDecoder.decode` yields that kept body instead of parsing the page again: the record extractor's, then the
  paginator's decoder (which reads only `cursor` and `has_more`, next to records the transformations have changed by
  then). The one difference: an integer beyond 64 bits is read as a float, as it is in the records the CDK's decoder
  makes; it could only show in an error message, and ChartMogul sends none.

All are process-wide and change only speed: `unit_tests/test_cdk_speedups.py` checks the same hashes, datetimes and
parsed bodies (or the same errors) on a range of values. Each is installed only over the very CDK function it was
tested against (`HOOKS`, checked by `source_chartmogul.hooks`): with another version of that function, or none, that
one is skipped with a log line and the CDK's own runs. The Connector Builder, which runs the manifest without this
module, reads the same records and state.
"""

import datetime
import re
from typing import Any, Iterator, List, MutableMapping, Union

import orjson
import requests
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder
from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter
from airbyte_cdk.sources.types import StreamSlice

from source_chartmogul.hooks import Hook

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Only values whose every field is in the range strptime accepts for its directive (seconds 0-59): anything else, valid
# for strptime or not, goes to the CDK's strptime.
_CHARTMOGUL_DATETIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][+-]([01][0-9]|2[0-3]):[0-5][0-9]",
    re.ASCII)

cdk_slice_hash = StreamSlice.__hash__
cdk_parse = DatetimeParser.parse
cdk_response_json = HttpResponseFilter._safe_response_json
cdk_json_decode = JsonDecoder.decode
_PARSED = "_chartmogul_parsed_body"


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


def response_json_once(response: requests.Response) -> Any:
    """`HttpResponseFilter._safe_response_json`: a UTF-8 JSON object parsed once, by `orjson`, and kept on the response
    for `JsonDecoder.decode`; anything else parsed by the CDK's own function, each time."""
    kept = response.__dict__.get(_PARSED)
    if kept is not None:
        return kept
    if (response.encoding or "utf-8").lower() in ("utf-8", "utf8"):
        try:
            body = orjson.loads(response.content)
        except (orjson.JSONDecodeError, TypeError):
            body = None
        if isinstance(body, dict) and body:
            response.__dict__[_PARSED] = body
            return body
    return cdk_response_json(response)


def decode_once(self: JsonDecoder, response: requests.Response) -> Iterator[MutableMapping[str, Any]]:
    """`JsonDecoder.decode`: the body the error handler kept, if any (the CDK's decoder yields that one object for such
    a body); otherwise the CDK's own."""
    kept = response.__dict__.get(_PARSED)
    if kept is not None:
        yield kept
        return
    yield from cdk_json_decode(self, response)


# Each replacement, the CDK function it replaces (SHA-256 of its source in airbyte-cdk 7.39.1), and where it goes.
HOOKS = (
    Hook("slice hash computed once", (("airbyte_cdk.sources.types:StreamSlice.__hash__",
                                       "b26170bdd3bc0ec98c5ac2894735d280525c3773a78ae96e8dbb214563b68a0c"),)),
    Hook("ChartMogul dates read by fromisoformat", (
        ("airbyte_cdk.sources.declarative.datetime.datetime_parser:DatetimeParser.parse",
         "1330fbb0623a88422de2333fafc4d2c697daf8075b1abe9ad36dfc3cdec0f37a"),)),
    Hook("error handler parses each page once", (
        ("airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter:HttpResponseFilter._safe_response_json",
         "baab1cb945941dcdaee238900b9c94dc6de46a3fa77fde811dbda77cdbb3e7de"),)),
    Hook("decoder reuses the parsed page", (("airbyte_cdk.sources.declarative.decoders.json_decoder:JsonDecoder.decode",
                                             "33554a83f125c93e4962a0e3553082b040854081c3db789dad08f582cd6b7034"),)),
)
_REPLACEMENTS = (
    (StreamSlice, "__hash__", slice_hash_once),
    (DatetimeParser, "parse", parse_iso_fast),
    (HttpResponseFilter, "_safe_response_json", staticmethod(response_json_once)),
    (JsonDecoder, "decode", decode_once),
)


def _is_ours(owner: type, name: str, replacement: Any) -> bool:
    return owner.__dict__.get(name) is replacement or getattr(owner.__dict__.get(name), "__func__", None) is getattr(replacement, "__func__", replacement)


def install() -> List[str]:
    """Install each replacement whose CDK function is the tested one (idempotent); the names of those skipped."""
    skipped = []
    for hook, (owner, name, replacement) in zip(HOOKS, _REPLACEMENTS):
        if _is_ours(owner, name, replacement):
            continue
        if hook.applies():
            setattr(owner, name, replacement)
        else:
            skipped.append(hook.name)
    return skipped


def installed() -> bool:
    """Every replacement is in place."""
    return all(_is_ours(owner, name, replacement) for owner, name, replacement in _REPLACEMENTS)
