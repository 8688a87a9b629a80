"""The entrypoint's CDK speed-ups give exactly what the CDK's own functions give (that source.py installs them, over
the very functions they were tested against: unit_tests/test_hooks.py)."""

import datetime
import json

import pytest
import requests
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder
from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter
from airbyte_cdk.sources.types import StreamSlice
from airbyte_cdk.utils.slice_hasher import SliceHasher

import source_chartmogul.source  # noqa: F401  (installs the speed-ups, as every run does)
from source_chartmogul import cdk_speedups

ACTIVITIES_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S"]  # the manifest's order


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


def test_chartmogul_s_dates_take_the_fast_path_and_others_the_cdk_s(monkeypatch):
    calls = []
    original = cdk_speedups.cdk_parse
    monkeypatch.setattr(cdk_speedups, "cdk_parse", lambda self, date, fmt: calls.append(date) or original(self, date, fmt))

    assert DatetimeParser().parse("2025-01-31T23:59:59+00:00", ACTIVITIES_FORMATS[0]) == datetime.datetime(
        2025, 1, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    DatetimeParser().parse("2025-01-31T23:59:59+0000", ACTIVITIES_FORMATS[0])
    assert calls == ["2025-01-31T23:59:59+0000"]


def _response(body: bytes, content_type: str = "application/json; charset=utf-8") -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = 200, body
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


BODIES = [
    (b'{"entries": [{"uuid": "ac_1", "amount_in_cents": 1000, "rate": 0.1, "name": "Caf\xc3\xa9"}], "has_more": false}', "application/json; charset=utf-8"),
    (b'{"entries": [], "cursor": null, "has_more": false}', "application/json"),
    (b'{"code": 401, "message": "No valid API key provided", "param": null}', "application/json; charset=utf-8"),
    (b'{}', "application/json"),
    (b'[{"uuid": "ac_1"}]', "application/json"),
    (b'{"entries": [{"amount": NaN}]}', "application/json"),
    (b'{"big": 123456789012345678901234567890}', "application/json"),
    (b'<html><body>502 Bad Gateway</body></html>', "text/html"),
    (b'{"entries": [{"uuid": "ac_1"', "application/json"),
    (b'', "application/json"),
    (b'{"name": "Caf\xe9"}', "application/json; charset=iso-8859-1"),
    (b'{"name": "Caf\xc3\xa9"}', "application/json; charset=iso-8859-1"),
]


@pytest.mark.parametrize("body, content_type", BODIES)
def test_the_error_handler_s_parse_of_an_answer_is_the_cdk_s(body, content_type):
    expected = cdk_speedups.cdk_response_json(_response(body, content_type))
    response = _response(body, content_type)

    parsed = HttpResponseFilter._safe_response_json(response)
    if b"123456789012345678901234567890" in body:  # the one difference: orjson reads an integer beyond 64 bits as a
        expected = next(JsonDecoder(parameters={}).decode(_response(body, content_type)))  # float, as in the records
        assert isinstance(parsed["big"], float)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert HttpResponseFilter._safe_response_json(response) == expected  # a second filter, the error message


@pytest.mark.parametrize("body, content_type", BODIES)
def test_the_decoder_gives_what_the_cdk_s_decoder_gives_after_the_error_handler_s_parse(body, content_type):
    response = _response(body, content_type)
    HttpResponseFilter._safe_response_json(response)

    decoded = list(JsonDecoder(parameters={}).decode(response))
    assert decoded == list(cdk_speedups.cdk_json_decode(JsonDecoder(parameters={}), _response(body, content_type)))
    assert list(JsonDecoder(parameters={}).decode(response)) == decoded  # the paginator's decoder, after the extractor's


def test_an_answer_is_parsed_once_for_the_error_handler_the_extractor_and_the_paginator(monkeypatch):
    response = _response(b'{"entries": [{"uuid": "ac_1"}], "has_more": false}')
    monkeypatch.setattr(cdk_speedups, "cdk_response_json", lambda r: pytest.fail("parsed by requests"))

    first = HttpResponseFilter._safe_response_json(response)
    assert HttpResponseFilter._safe_response_json(response) is first
    assert next(JsonDecoder(parameters={}).decode(response)) is first  # not parsed again by the extractor or paginator
