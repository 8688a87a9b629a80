"""activities, incremental: 10-day windows sent as start-date/end-date, state per window, resume, lookback.

Windows must partition [start, now] exactly: each window's end-date is one second before the next window's
start-date, so with ChartMogul's inclusive bounds and whole-second dates every activity is read once per sync,
including many activities sharing the very second a window ends or starts. The partition tests run against the
offline fake (a real HTTP server whose start-date/end-date filters are inclusive, as assumed for ChartMogul);
the request-shape tests use the CDK's HTTP mock.

Time is frozen wherever "now" ends the last window. The api_budget's moving window does not slide while time is
frozen, so each of these tests stays well under the 34 activity requests the budget allows in one window.
"""

import collections
from datetime import datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import SyncMode
from freezegun import freeze_time

from testkit.connector import API_KEY, run_cli
from unit_tests.builders import api_request, config, entries, error, numbered, page, read, sent_requests
from source_chartmogul.simulation import Dataset, SimulatedChartMogul, Route
from testkit.redirect import redirect_chartmogul

NOW = "2024-02-10T12:00:00Z"
START = "2024-01-01T00:00:00Z"  # builders.START_DATE
STEP = timedelta(days=10)  # the manifest's window (step)
TEMPLATE = entries("activities")[0]


def activity(n: int, date: str) -> dict:
    record = numbered(TEMPLATE, n)
    record["date"] = date
    return record


def state(date: str) -> list:
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": date}}}]


def expected_windows(start: str, now: str = NOW) -> list:
    """10-day windows from start to now: each ends one second before the next starts, the last ends at now."""
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    fmt = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    result, lower, upper = [], parse(start), parse(now)
    while lower + STEP < upper:
        result.append((fmt(lower), fmt(lower + STEP - timedelta(seconds=1))))
        lower += STEP
    return result + [(fmt(lower), fmt(upper))]


def windows(http_mocker) -> list:
    """(start-date, end-date) of every activities request, first pages only, in window order."""
    sent = [params for path, params in sent_requests(http_mocker) if path == "activities" and "cursor" not in params]
    return sorted((params["start-date"], params["end-date"]) for params in sent)


def emitted_states(output) -> list:
    return [message.state.stream.stream_state.date for message in output.state_messages]


def uuids(output) -> collections.Counter:
    return collections.Counter(message.record.data["uuid"] for message in output.records)


# --- windows ----------------------------------------------------------------------------------------------------------
@freeze_time(NOW)
def test_given_first_sync_when_read_then_10_day_windows_run_from_start_date_to_now_without_gap_or_overlap(http_mocker):
    expected = [("2024-01-01T00:00:00Z", "2024-01-10T23:59:59Z"),
                ("2024-01-11T00:00:00Z", "2024-01-20T23:59:59Z"),
                ("2024-01-21T00:00:00Z", "2024-01-30T23:59:59Z"),
                ("2024-01-31T00:00:00Z", "2024-02-09T23:59:59Z"),
                ("2024-02-10T00:00:00Z", "2024-02-10T12:00:00Z")]  # the last window ends at now
    assert expected_windows(START) == expected
    for n, (start, end) in enumerate(expected):
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}),
                        page([activity(n, start.replace("Z", "+00:00"))]))

    output = read("activities", sync_mode=SyncMode.incremental)

    assert not output.errors
    assert windows(http_mocker) == expected
    for (_, end), (next_start, _) in zip(expected, expected[1:]):
        assert datetime.fromisoformat(next_start[:-1]) - datetime.fromisoformat(end[:-1]) == timedelta(seconds=1)
    assert sorted(m.record.data["date"] for m in output.records) == [s.replace("Z", "+00:00") for s, _ in expected]


@freeze_time(NOW)
def test_given_a_window_with_several_pages_when_read_then_every_page_repeats_the_window_and_sends_the_cursor(http_mocker):
    *earlier, (last_start, last_end) = expected_windows(START)
    for start, end in earlier:
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}), page([]))
    window = {"per_page": "200", "start-date": last_start, "end-date": last_end}
    http_mocker.get(api_request("activities", window),
                    page([activity(1, "2024-02-10T01:00:00+00:00")], has_more=True, cursor="c2"))
    http_mocker.get(api_request("activities", {**window, "cursor": "c2"}),
                    page([activity(2, "2024-02-10T02:00:00+00:00")], has_more=False, cursor="c3"))

    output = read("activities", sync_mode=SyncMode.incremental)

    assert [m.record.data["uuid"][-6:] for m in output.records] == ["000001", "000002"]
    assert len(sent_requests(http_mocker)) == len(earlier) + 2  # nothing after has_more: false
    assert emitted_states(output)[-1] == "2024-02-10T02:00:00Z"


def _fake(records: list, **options) -> SimulatedChartMogul:
    dataset = Dataset({"activities": Route("dated", records), "customers": Route("list", [])})
    return SimulatedChartMogul(dataset, API_KEY, **options)


@freeze_time(NOW)
def test_given_hundreds_of_activities_on_the_seconds_around_window_edges_when_read_then_each_is_emitted_exactly_once():
    # 450 activities (3 pages) on the last second of the first window, 450 on the first second of the second,
    # and a few on start_date itself and on "now", the outer edges.
    edge_end, edge_start = "2024-01-10T23:59:59+00:00", "2024-01-11T00:00:00+00:00"
    records = ([activity(n, "2024-01-01T00:00:00+00:00") for n in range(3)]
               + [activity(1000 + n, edge_end) for n in range(450)]
               + [activity(2000 + n, edge_start) for n in range(450)]
               + [activity(3000 + n, "2024-01-20T23:59:59+00:00") for n in range(5)]
               + [activity(4000 + n, "2024-02-10T12:00:00+00:00") for n in range(3)])
    with _fake(records) as fake, redirect_chartmogul(fake.url):
        output = read("activities", sync_mode=SyncMode.incremental)
        log = [query for _, path, query, status in fake.stats.log if path == "/v1/activities"]

    assert not output.errors
    counts = uuids(output)
    assert set(counts) == {r["uuid"] for r in records} and set(counts.values()) == {1}  # all, each once
    assert len(output.records) == 911
    first_window = [q for q in log if q["start-date"] == "2024-01-01T00:00:00Z"]
    assert {q["end-date"] for q in first_window} == {"2024-01-10T23:59:59Z"} and len(first_window) == 3  # 3 pages
    assert emitted_states(output)[-1] == "2024-02-10T12:00:00Z"


@freeze_time(NOW)
def test_given_an_activity_dated_after_now_when_read_then_it_waits_for_a_later_sync_and_state_stays_in_the_past():
    records = [activity(1, "2024-02-09T08:00:00+00:00"), activity(2, "2024-03-01T00:00:00+00:00")]  # 2: a scheduled churn
    with _fake(records) as fake, redirect_chartmogul(fake.url):
        output = read("activities", sync_mode=SyncMode.incremental)

    assert [m.record.data["uuid"] for m in output.records] == [records[0]["uuid"]]
    assert emitted_states(output)[-1] == "2024-02-09T08:00:00Z"  # a future date would skip what happens until then


# --- state --------------------------------------------------------------------------------------------------------------
@freeze_time(NOW)
def test_given_windows_completing_when_read_then_one_state_per_window_advancing_to_the_latest_activity(http_mocker):
    dates = ["2024-01-05T10:00:00", "2024-01-15T10:00:00", "2024-01-25T10:00:00", "2024-02-01T10:00:00", "2024-02-10T06:00:00"]
    bounds = expected_windows(START)
    for n, ((start, end), date) in enumerate(zip(bounds, dates)):
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}),
                        page([activity(n, date + "+00:00")]))

    output = read("activities", sync_mode=SyncMode.incremental)

    states = emitted_states(output)
    assert len(states) == len(bounds) + 1  # one as each window completes, then the final one
    assert states == sorted(states)  # windows finish in any order; state only moves over contiguous finished windows
    assert states[-1] == "2024-02-10T06:00:00Z"
    assert set(states) <= {"2024-01-01T00:00:00Z"} | {d + "Z" for d in dates}


@freeze_time(NOW)
def test_given_saved_state_when_read_then_first_window_starts_at_that_second_and_nothing_earlier_is_requested(http_mocker):
    resumed_windows = expected_windows("2024-01-20T08:30:00Z")
    assert resumed_windows[:2] == [("2024-01-20T08:30:00Z", "2024-01-30T08:29:59Z"), ("2024-01-30T08:30:00Z", "2024-02-09T08:29:59Z")]
    for n, (start, end) in enumerate(resumed_windows):
        records = [activity(1, "2024-01-20T08:30:00+00:00")] if n == 0 else []
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}), page(records))

    output = read("activities", config(lookback_window_days=0), SyncMode.incremental, state("2024-01-20T08:30:00Z"))

    assert windows(http_mocker) == resumed_windows  # nothing before the state is requested
    # The state's own second is read again: activities sharing it that arrived later are not skipped.
    assert [m.record.data["date"] for m in output.records] == ["2024-01-20T08:30:00+00:00"]
    assert emitted_states(output)[-1] == "2024-01-20T08:30:00Z"  # no newer activity: state does not move


@freeze_time(NOW)
def test_given_a_sync_interrupted_in_its_second_window_when_resumed_then_every_activity_is_read_and_none_is_lost(http_mocker):
    first = [activity(1, "2024-01-03T00:00:00+00:00"), activity(2, "2024-01-10T23:59:59+00:00")]
    second = [activity(3, "2024-01-11T00:00:00+00:00"), activity(4, "2024-01-18T00:00:00+00:00")]
    third = [activity(5, "2024-02-05T00:00:00+00:00")]
    served = {"2024-01-01T00:00:00Z": page(first),
              "2024-01-11T00:00:00Z": error(400, {"code": 400, "message": "simulated interruption", "param": None}),
              "2024-01-31T00:00:00Z": page(third)}
    for start, end in expected_windows(START):
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}),
                        served.get(start, page([])))

    interrupted = read("activities", config(lookback_window_days=0), SyncMode.incremental)

    assert interrupted.errors
    saved = emitted_states(interrupted)[-1]
    assert saved == "2024-01-10T23:59:59Z"  # later windows finished too, but the second did not: not past it

    # Resume from the saved state: the first window starts at that very second.
    resumed_windows = expected_windows(saved)
    assert resumed_windows[0] == (saved, "2024-01-20T23:59:58Z")
    for n, (start, end) in enumerate(resumed_windows):
        records = [first[1]] + second if n == 0 else third if start <= "2024-02-05" <= end else []
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}), page(records))

    resumed = read("activities", config(lookback_window_days=0), SyncMode.incremental, state(saved))

    assert not resumed.errors
    both = uuids(interrupted) + uuids(resumed)
    assert set(both) == {r["uuid"] for r in first + second + third}
    assert both[first[1]["uuid"]] == 2 and both[third[0]["uuid"]] == 2  # re-read, deduplicated on uuid downstream
    assert emitted_states(resumed)[-1] == "2024-02-05T00:00:00Z"


# --- lookback -----------------------------------------------------------------------------------------------------------
@freeze_time(NOW)
@pytest.mark.parametrize("overrides, first_start", [
    ({}, "2024-01-27T12:00:00Z"),                            # default: 7 days before the state
    ({"lookback_window_days": 3}, "2024-01-31T12:00:00Z"),
    ({"lookback_window_days": 0}, "2024-02-03T12:00:00Z"),   # 0: exactly the state
    ({"lookback_window_days": 60}, "2024-01-01T00:00:00Z"),  # never before start_date
])
def test_given_state_and_lookback_when_read_then_first_window_starts_that_many_days_before_the_state(http_mocker, overrides, first_start):
    for start, end in expected_windows(first_start):
        http_mocker.get(api_request("activities", {"per_page": "200", "start-date": start, "end-date": end}), page([]))

    output = read("activities", config(**overrides), SyncMode.incremental, state("2024-02-03T12:00:00Z"))

    assert not output.errors
    assert windows(http_mocker) == expected_windows(first_start)
    assert windows(http_mocker)[0][0] == first_start and windows(http_mocker)[-1][1] == NOW


@freeze_time(NOW)
def test_given_lookback_of_3_days_when_read_then_exactly_the_activities_of_those_days_are_read_again():
    saved = "2024-02-05T06:00:00Z"
    records = [activity(n, (datetime(2024, 1, 20, 6, tzinfo=timezone.utc) + timedelta(hours=12 * n)).isoformat())
               for n in range(42)]  # every 12 hours from 2024-01-20T06:00 to 2024-02-09T18:00
    with _fake(records) as fake, redirect_chartmogul(fake.url):
        output = read("activities", config(lookback_window_days=3), SyncMode.incremental, state(saved))

    expected = {r["uuid"] for r in records if r["date"] >= "2024-02-02T06:00:00+00:00"}
    assert len(expected) == 16
    assert set(uuids(output)) == expected and set(uuids(output).values()) == {1}
    assert min(m.record.data["date"] for m in output.records) == "2024-02-02T06:00:00+00:00"  # exactly 3 days back
    assert emitted_states(output)[-1] == "2024-02-09T18:00:00Z"


@freeze_time(NOW)
def test_given_saved_state_when_read_as_full_refresh_then_still_reads_everything_from_start_date():
    records = [activity(n, f"2024-01-{n + 1:02d}T00:00:00+00:00") for n in range(31)]
    with _fake(records) as fake, redirect_chartmogul(fake.url):
        output = read("activities", config(), SyncMode.full_refresh)

    assert set(uuids(output)) == {r["uuid"] for r in records} and set(uuids(output).values()) == {1}


# --- what discover and spec say -------------------------------------------------------------------------------------------
def test_discover_offers_incremental_on_date_for_activities_and_full_refresh_only_for_customer_count():
    streams = {s.name: s for s in run_cli("discover", config()).catalog.catalog.streams}

    assert [m.value for m in streams["activities"].supported_sync_modes] == ["full_refresh", "incremental"]
    assert streams["activities"].source_defined_cursor and streams["activities"].default_cursor_field == ["date"]
    assert [m.value for m in streams["customer_count"].supported_sync_modes] == ["full_refresh"]


def test_spec_declares_an_optional_lookback_window_defaulting_to_7_days_and_rejects_negative_values():
    spec = run_cli("spec").spec_messages[0].spec.connectionSpecification["properties"]["lookback_window_days"]

    assert spec["type"] == "integer" and spec["default"] == 7 and spec["minimum"] == 0
    assert "lookback_window_days" not in run_cli("spec").spec_messages[0].spec.connectionSpecification["required"]
    status = run_cli("check", config(lookback_window_days=-1)).connection_status_messages[0].connectionStatus
    assert status.status.name == "FAILED"
    assert status.message.startswith("Config error: 'Lookback window (days)' (lookback_window_days) is not valid: -1 is less than")
