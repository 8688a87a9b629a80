"""The entrypoint's two CDK speed-ups give exactly what the CDK's own functions give, and are installed by source.py."""

import datetime

import pytest
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.types import StreamSlice
from airbyte_cdk.utils.slice_hasher import SliceHasher

import source_chartmogul.source  # noqa: F401  (installs the speed-ups, as every run does)
from source_chartmogul import cdk_speedups

ACTIVITIES_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S"]  # the manifest's order


def test_importing_the_entrypoint_installs_both_and_the_cdk_still_has_the_functions_they_replace():
    assert cdk_speedups.installed()
    # The CDK's own functions, kept by the module: still the ones an upgrade would have to keep for this to apply.
    assert cdk_speedups.cdk_slice_hash.__qualname__ == "StreamSlice.__hash__"
    assert cdk_speedups.cdk_parse.__qualname__ == "DatetimeParser.parse"


@pytest.mark.parametrize("partition, cursor_slice", [
    ({}, {"start_time": "2024-01-01T00:00:00Z", "end_time": "2024-01-10T23:59:59Z"}),
    ({"customer_uuid": "cus_5e5ac7b2-8b9c-11ee-b9d1-0242ac120002"}, {}),
    ({"data_source_uuid": "ds_1b2c", "parent_slice": {"page": 3}}, {"start_time": "2024-02-01T00:00:00Z"}),
    ({}, {}),
])
def test_a_slice_s_hash_is_the_cdk_s_and_is_computed_once(monkeypatch, partition, cursor_slice):
    window = StreamSlice(partition=partition, cursor_slice=cursor_slice)
    expected = SliceHasher.hash(stream_slice=dict(partition) | dict(cursor_slice))  # what the CDK computes each time
    assert cdk_speedups.cdk_slice_hash(window) == expected
    computed = []
    monkeypatch.setattr(cdk_speedups, "cdk_slice_hash", lambda s: computed.append(s) or expected)

    assert window.__hash__() == expected  # so hash(window), which Python derives from it, is the CDK's too
    hash(window)
    assert computed == [window]  # the later lookups reused the first
    # An equal slice made elsewhere is the same dictionary key.
    assert {window: 1}[StreamSlice(partition=dict(partition), cursor_slice=dict(cursor_slice))] == 1


VALUES = [
    "2025-01-31T23:59:59+00:00", "2024-02-29T00:00:00+00:00", "2023-06-09T13:16:00-05:30", "2023-06-09T13:16:00+14:00",
    "2025-02-29T00:00:00+00:00", "2025-13-01T00:00:00+00:00", "2025-01-01T24:00:00+00:00", "2025-01-01T23:59:60+00:00",
    "2025-01-01T00:00:00+24:00", "2025-01-01T00:00:00+00:60", "2025-01-31T23:59:59Z", "2025-01-31T23:59:59+0000",
    "2025-01-31T23:59:59.123456+00:00", "2025-01-31T23:59:59", "2025-01-31", "", "not a date", 1700000000,
    "２０２５-01-31T23:59:59+00:00",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("fmt", ACTIVITIES_FORMATS + ["%Y-%m-%d", "%s"])
def test_a_date_parses_to_the_cdk_s_datetime_or_fails_as_the_cdk_does(value, fmt):
    try:
        expected = cdk_speedups.cdk_parse(DatetimeParser(), value, fmt)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            DatetimeParser().parse(value, fmt)
        return
    parsed = DatetimeParser().parse(value, fmt)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()
    assert parsed.isoformat() == expected.isoformat()


def test_chartmogul_s_dates_take_the_fast_path_and_others_the_cdk_s():
    calls = []
    original = cdk_speedups.cdk_parse
    try:
        cdk_speedups.cdk_parse = lambda self, date, fmt: calls.append(date) or original(self, date, fmt)
        assert DatetimeParser().parse("2025-01-31T23:59:59+00:00", ACTIVITIES_FORMATS[0]) == datetime.datetime(
            2025, 1, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
        DatetimeParser().parse("2025-01-31T23:59:59+0000", ACTIVITIES_FORMATS[0])
    finally:
        cdk_speedups.cdk_parse = original
    assert calls == ["2025-01-31T23:59:59+0000"]
