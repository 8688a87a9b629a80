"""activities: a first read plans its date windows from one request, so that it asks for nothing before the account's
first activity and most of its requests return full pages.

The probe is the first page of activities on or after start_date (ChartMogul lists them ascending by date when `order`
is omitted): its first activity is where the windows start, and the density of that page sizes them (about 40 pages per
window, at least 3 windows, never more than 10-day windows would be). Incremental reads from a saved state, and
histories of at most 120 days, keep the 10-day windows that test_activities_incremental.py specifies. These tests read
the offline fake (a real server with ChartMogul's inclusive start-date/end-date filters) and check its request log.
"""

import collections
import datetime

from airbyte_cdk.models import SyncMode

from source_chartmogul import read_plan
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY, catalog, run_cli
from unit_tests.builders import config
from testkit.redirect import redirect_chartmogul

# A young account: 2,000 activities (10 pages) over its last year, read with the spec's example start_date.
END = datetime.date(2026, 11, 1)
ACCOUNT = Dataset.generate(customers=50, activities=2_000, metric_days=365, end=END)
ACTIVITIES = ACCOUNT.routes["activities"].records
START_DATE = "2017-01-25T00:00:00Z"


def read_activities(cfg: dict, sync_mode: SyncMode = SyncMode.full_refresh, state=None, **options):
    read_catalog = catalog("activities", sync_mode=sync_mode)
    with SimulatedChartMogul(ACCOUNT, API_KEY, **options) as fake, redirect_chartmogul(fake.url):
        output = run_cli("read", cfg, read_catalog, state)
    return output, [query for _, path, query, status in fake.stats.log if path == "/v1/activities"]


def assert_every_activity_once(output) -> None:
    assert not output.errors, [e.trace.error.message for e in output.errors]
    emitted = collections.Counter(m.record.data["uuid"] for m in output.records)
    assert set(emitted) == {a["uuid"] for a in ACTIVITIES} and set(emitted.values()) == {1}


def test_given_a_first_read_of_a_young_account_when_read_then_no_request_before_its_first_activity_and_at_most_3_beyond_its_pages():
    output, sent = read_activities(config(start_date=START_DATE))

    assert_every_activity_once(output)
    probe, *reads = sent
    assert (probe["start-date"], probe["per_page"]) == (START_DATE, "200") and "cursor" not in probe
    first = min(a["date"] for a in ACTIVITIES)  # about a year before the account's end
    first_second = datetime.datetime.fromisoformat(first).astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert min(query["start-date"] for query in reads) == first_second  # nothing from 2017 to the first activity
    pages = -(-len(ACTIVITIES) // 200)
    assert len(sent) <= pages + 3
    windows = sorted({(query["start-date"], query["end-date"]) for query in reads})
    assert len(windows) == 3  # 10 pages: the fewest windows, 3
    for (_, end), (next_start, _) in zip(windows, windows[1:]):  # contiguous: each ends one second before the next
        gap = datetime.datetime.fromisoformat(next_start[:-1]) - datetime.datetime.fromisoformat(end[:-1])
        assert gap == datetime.timedelta(seconds=1)


def test_given_a_first_incremental_read_when_read_then_state_is_the_latest_activity_read():
    output, _ = read_activities(config(start_date=START_DATE), SyncMode.incremental)

    assert_every_activity_once(output)
    latest = max(datetime.datetime.fromisoformat(a["date"]) for a in ACTIVITIES)  # all before now
    assert output.state_messages[-1].state.stream.stream_state.date == latest.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_given_a_saved_state_when_read_incrementally_then_no_probe_and_10_day_windows_from_the_state_minus_lookback():
    saved = "2026-09-01T00:00:00Z"
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "activities"}, "stream_state": {"date": saved}}}]

    output, sent = read_activities(config(start_date=START_DATE, lookback_window_days=0), SyncMode.incremental, state)

    assert not output.errors
    assert min(query["start-date"] for query in sent) == saved  # the first window starts at the state: no probe
    first = [query for query in sent if query["start-date"] == saved]
    assert {query["end-date"] for query in first} == {"2026-09-10T23:59:59Z"}  # 10 days
    assert {m.record.data["uuid"] for m in output.records} == {a["uuid"] for a in ACTIVITIES if a["date"] >= "2026-09-01"}


def test_given_the_probe_fails_when_read_then_10_day_windows_from_start_date_read_every_activity():
    start = (END - datetime.timedelta(days=400)).strftime("%Y-%m-%dT00:00:00Z")  # 40 windows, most of them empty

    output, sent = read_activities(config(start_date=start), failures={"activities": [500]})

    assert_every_activity_once(output)
    probe, *reads = sent
    assert "cursor" not in probe and min(query["start-date"] for query in reads) == start
    assert len({query["start-date"] for query in reads}) >= 40


def test_given_a_user_config_with_the_connector_s_own_window_keys_when_read_then_they_are_ignored():
    cfg = config(start_date=START_DATE, **{read_plan.ACTIVITIES_START: "2026-10-31T00:00:00Z",
                                           read_plan.ACTIVITIES_STEP: "P1D", read_plan.WORKERS: 40})

    output, sent = read_activities(cfg)

    assert_every_activity_once(output)  # nothing skipped by the user's start, no 40 threads
    assert sent[0]["start-date"] == START_DATE


# --- the plan, from the probe's page ------------------------------------------------------------------------------
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def plan_for(entries: list, has_more: bool, start_date: str = START_DATE) -> dict:
    dataset = Dataset({"activities": _route(entries, has_more)})
    with SimulatedChartMogul(dataset, API_KEY) as fake:
        return read_plan.plan_activity_windows({**config(start_date=start_date), "api_base_url": fake.url},
                                               incremental_from_state=False, now=NOW)


def _route(entries: list, has_more: bool):
    from source_chartmogul.simulation import Route
    extra = [{**entries[-1], "uuid": f"x{n}"} for n in range(200)] if has_more else []  # a second page
    return Route("dated", entries + extra)


def activity(n: int, date: str) -> dict:
    return {**ACTIVITIES[0], "uuid": f"a{n}", "date": date}


def test_plan_given_no_activity_since_start_date_then_one_window_from_start_date():
    assert plan_for([], has_more=False) == {read_plan.ACTIVITIES_START: START_DATE,
                                            read_plan.ACTIVITIES_STEP: f"PT{int((NOW - datetime.datetime(2017, 1, 25, tzinfo=datetime.timezone.utc)).total_seconds()) + 1}S"}


def test_plan_given_every_activity_on_the_probe_s_page_then_one_window_from_the_first():
    plan = plan_for([activity(1, "2026-03-01T10:00:00+00:00"), activity(2, "2026-06-01T10:00:00+00:00")], has_more=False)

    assert plan[read_plan.ACTIVITIES_START] == "2026-03-01T10:00:00Z"
    assert int(plan[read_plan.ACTIVITIES_STEP][2:-1]) > (NOW - datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.timezone.utc)).total_seconds()


def test_plan_given_an_import_of_200_activities_in_one_second_then_never_more_windows_than_10_day_ones():
    burst = [activity(n, "2020-01-01T00:00:00+00:00") for n in range(200)]

    plan = plan_for(burst, has_more=True)

    span = (NOW - datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()
    assert plan[read_plan.ACTIVITIES_START] == "2020-01-01T00:00:00Z"
    assert int(plan[read_plan.ACTIVITIES_STEP][2:-1]) >= span / -(-span // 864_000)  # at most ceil(span / 10 days) windows


def test_plan_given_a_short_history_or_a_saved_state_then_no_request_and_today_s_windows():
    recent = (NOW - datetime.timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert read_plan.plan_activity_windows(config(start_date=recent), incremental_from_state=False, now=NOW) == {}
    assert read_plan.plan_activity_windows(config(start_date=START_DATE), incremental_from_state=True, now=NOW) == {}


def test_plan_given_a_config_the_spec_refuses_then_no_request_is_made(monkeypatch):
    def no_request(*args, **kwargs):  # the probe runs before the entrypoint checks the config against the spec
        raise AssertionError("a request was made")

    monkeypatch.setattr(read_plan.requests, "get", no_request)
    for refused in ({"api_base_url": "http://10.0.0.5:8765"}, {"api_base_url": "http://localhost:80@evil.example"},
                    {"start_date": "2017/01/25"}, {"api_key": None}):
        assert read_plan.plan_activity_windows({**config(start_date=START_DATE), **refused},
                                               incremental_from_state=False, now=NOW) == {}, refused


def test_plan_s_loopback_rule_is_the_spec_s_pattern_for_api_base_url():
    spec = run_cli("spec").spec_messages[0].spec.connectionSpecification["properties"]["api_base_url"]
    assert spec["pattern"] == "^" + read_plan.LOOPBACK.pattern + "$"
