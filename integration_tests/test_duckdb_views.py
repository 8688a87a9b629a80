"""The views `source-chartmogul-duckdb` keeps in the file (source_chartmogul/loader/views/*.sql): on the simulated
account, whose numbers agree as a real account's do, the activities explain ChartMogul's MRR in every month; a
customer's MRR by month adds up to the waterfall; every paying customer is in one cohort; and the check says which
months differ when activities are missing, and why a constant difference appears when start_date is after the first
activity. Without the tables a view reads, it is left out and the load succeeds."""

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict

import duckdb
import pytest

from integration_tests import duckdb_mirror as m
from source_chartmogul.loader import summary
from source_chartmogul.simulation import Dataset, SimulatedChartMogul
from testkit.connector import API_KEY

DAYS = 400  # 14 months: cohorts that age
STREAMS = "customers,account,mrr,activities"


def _load(environment: Dict[str, str], folder: Path, simulation: SimulatedChartMogul, name: str, *options: str, **config: Any):
    config_file = folder / f"{name}.json"
    config_file.write_text(json.dumps({**m.config(simulation), "start_date": f"{m.TODAY - timedelta(days=DAYS)}T00:00:00Z", **config}))
    db = folder / f"{name}.duckdb"
    return db, m.load(environment, "--config", str(config_file), "--db", str(db), *options)


@pytest.fixture(scope="module")
def loads(loader_environment, tmp_path_factory) -> Dict[str, Any]:
    account = Dataset.generate(customers=150, activities=1_800, metric_days=DAYS, end=m.TODAY)
    folder = tmp_path_factory.mktemp("views")
    with SimulatedChartMogul(account, API_KEY) as simulation:
        whole, whole_run = _load(loader_environment, folder, simulation, "whole", "--streams", STREAMS)
        late_start = f"{m.TODAY - timedelta(days=DAYS // 2)}T00:00:00Z"
        late, late_run = _load(loader_environment, folder, simulation, "late", "--streams", STREAMS, start_date=late_start)
        partial, partial_run = _load(loader_environment, folder, simulation, "partial", "--streams", "account,mrr")
    return {"whole": whole, "whole_run": whole_run, "late": late, "late_run": late_run, "late_start": late_start,
            "partial": partial, "partial_run": partial_run}


def _query(db: Path, sql: str) -> list:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_on_a_coherent_account_the_activities_explain_chartmogul_s_mrr_in_every_month(loads):
    checked = _query(loads["whole"], "SELECT month, from_activities, from_chartmogul, difference FROM mrr_check ORDER BY month")

    assert len(checked) >= 13 and all(difference == 0 for *_, difference in checked)
    assert checked[-1][2] == _query(loads["whole"], "SELECT SUM(mrr) FROM customers")[0][0] > 0  # today's MRR
    assert "Check: the activities explain ChartMogul's MRR in every month (" in loads["whole_run"].stdout


def test_months_are_the_account_s_calendar_months_in_its_time_zone(loads, tmp_path):
    db = tmp_path / "late-evening.duckdb"
    shutil.copy(loads["whole"], db)
    with duckdb.connect(str(db)) as con:
        # 22:30 UTC on the last day of March is 00:30 on April 1st in Berlin (summer time); 23:30 UTC on the last day
        # of January is 00:30 on February 1st (winter time).
        con.execute("INSERT INTO activities (uuid, date, type, activity_mrr_movement, customer_uuid) VALUES "
                    "('late-march', TIMESTAMP '2026-03-31 22:30:00', 'expansion', 123, 'cus_x'), "
                    "('late-january', TIMESTAMP '2026-01-31 23:30:00', 'expansion', 456, 'cus_x')")
        expansion = dict(con.execute("SELECT month, expansion FROM mrr_movements").fetchall())
        customer = dict(con.execute("SELECT month, mrr FROM customer_mrr WHERE customer_uuid = 'cus_x'").fetchall())
    before = dict(_query(loads["whole"], "SELECT month, expansion FROM mrr_movements"))

    assert {month: expansion[month] - before.get(month, 0) for month in expansion if expansion[month] != before.get(month, 0)} == \
        {date(2026, 4, 1): 123, date(2026, 2, 1): 456}
    assert (customer[date(2026, 2, 1)], customer[date(2026, 4, 1)]) == (456, 579)


def test_the_waterfall_balances_and_each_customer_s_mrr_by_month_adds_up_to_it(loads):
    months = _query(loads["whole"], "SELECT * FROM mrr_movements ORDER BY month")
    by_customer = dict(_query(loads["whole"], "SELECT month, SUM(mrr) FROM customer_mrr GROUP BY month"))

    assert [column for column, *_ in duckdb.connect(str(loads["whole"]), read_only=True).execute(
        "DESCRIBE mrr_movements").fetchall()] == ["month", "starting_mrr", "new_biz", "expansion", "contraction", "churn",
                                                   "reactivation", "ending_mrr"]
    for (month, starting, *moves, ending), previous in zip(months, [None, *months]):
        assert starting + sum(moves) == ending
        assert starting == (previous[-1] if previous else 0)
        assert by_customer.get(month, 0) == ending
    assert months[-1][-1] == _query(loads["whole"], "SELECT SUM(mrr) FROM customers")[0][0]
    assert all(moves[2] <= 0 and moves[3] <= 0 for _, _, *moves, _ in months)  # contraction and churn, negative
    assert "MRR movements of the last 6 months (USD; months in Europe/Berlin):" in loads["whole_run"].stdout


def test_every_customer_with_mrr_in_the_last_month_is_in_exactly_one_cohort(loads):
    paying = _query(loads["whole"], "SELECT COUNT(*) FROM customers WHERE mrr > 0")[0][0]
    in_cohorts = _query(loads["whole"], "SELECT SUM(customers), SUM(mrr) FROM cohorts c WHERE c.cohort_month + "
                                        "to_months(c.months_since) = (SELECT MAX(month) FROM customer_mrr)")[0]
    starts = _query(loads["whole"], "SELECT cohort_month, customers FROM cohorts WHERE months_since = 0 ORDER BY 1")
    new_biz = _query(loads["whole"], "SELECT COUNT(DISTINCT customer_uuid) FROM activities WHERE type = 'new_biz'")[0][0]

    assert paying > 0 and in_cohorts == (paying, _query(loads["whole"], "SELECT SUM(mrr) FROM customers")[0][0])
    # Month 0 of a cohort: its customers still paying at the end of the month of their first new_biz (one that joined
    # and churned in that month is not), counted here from the activities themselves.
    activities = _query(loads["whole"], "SELECT customer_uuid, timezone('Europe/Berlin', date AT TIME ZONE 'UTC'), type, "
                                        "activity_mrr_movement FROM activities ORDER BY date")
    first, mrr_at_end = {}, {}
    for customer, moment, kind, movement in activities:
        if kind == "new_biz":
            first.setdefault(customer, moment.date().replace(day=1))
    for customer, moment, kind, movement in activities:
        if customer in first and moment.date().replace(day=1) <= first[customer]:
            mrr_at_end[customer] = mrr_at_end.get(customer, 0) + movement
    expected = {}
    for customer, month in first.items():
        expected[month] = expected.get(month, 0) + (mrr_at_end.get(customer, 0) > 0)
    assert len(first) == new_biz and dict(starts) == expected


def test_with_a_month_of_activities_missing_the_check_names_that_month_and_every_later_one_and_no_earlier(loads, tmp_path):
    db = tmp_path / "missing.duckdb"
    shutil.copy(loads["whole"], db)
    with duckdb.connect(str(db)) as con:
        month = con.execute("SELECT month FROM mrr_movements WHERE new_biz + expansion + contraction + churn + reactivation <> 0 "
                            "ORDER BY month LIMIT 1 OFFSET 5").fetchone()[0]
        con.execute("DELETE FROM activities WHERE date_trunc('month', timezone('Europe/Berlin', date AT TIME ZONE 'UTC')) = ?", [month])
        differing = [row[0] for row in con.execute("SELECT month FROM mrr_check WHERE difference <> 0 ORDER BY month").fetchall()]
        every = [row[0] for row in con.execute("SELECT month FROM mrr_check ORDER BY month").fetchall()]
        verdict = summary.check_of_the_activities(con, None)

    assert differing == [m for m in every if m >= month] and differing[0] == month
    assert verdict[0].startswith(f"Check: the activities do not explain ChartMogul's MRR in {len(differing)} of {len(every)} months "
                                 f"(SELECT * FROM mrr_check WHERE difference <> 0): the difference, ChartMogul's MRR less the "
                                 f"activities', is {month:%Y-%m} (")
    assert "Run the command again with --full-refresh to read every activity anew." in verdict[1]


def test_with_start_date_after_the_first_activity_the_summary_explains_the_constant_difference(loads):
    differences = {d for (d,) in _query(loads["late"], "SELECT difference FROM mrr_check")}
    (before,) = differences
    line = next(line for line in loads["late_run"].stdout.splitlines() if line.startswith("Check: "))

    assert before > 0
    assert line == (f"Check: ChartMogul's MRR is {before / 100:,.2f} more than the activities' in every month ("
                    f"{len(_query(loads['late'], 'SELECT * FROM mrr_check'))} months; SELECT * FROM mrr_check WHERE difference <> 0): "
                    f"the activities before start_date ({loads['late_start'][:10]}) were not loaded, and they account for "
                    f"{before / 100:,.2f} of MRR. To load them, set start_date in the config to the account's first day or "
                    "earlier, and run the command again with --full-refresh.")


def test_without_activities_the_views_that_read_them_are_left_out_and_the_load_succeeds(loads):
    views = [name for (name,) in _query(loads["partial"], "SELECT view_name FROM duckdb_views() WHERE NOT internal")]
    left_out = re.findall(r"^View left out: (\w+): it needs the activities table, which the file does not hold "
                          r"\(load it: --streams ([\w,]+)\)\.$", loads["partial_run"].stdout, re.M)

    assert views == []
    assert left_out == [("mrr_movements", "activities,account"), ("customer_mrr", "activities,account"),
                        ("cohorts", "activities,account"), ("mrr_check", "activities,account,mrr")]
    assert "MRR movements" not in loads["partial_run"].stdout and "Check:" not in loads["partial_run"].stdout


def test_the_views_work_in_the_file_opened_under_any_name(loads, tmp_path):
    renamed = tmp_path / "renamed-copy.duckdb"
    shutil.copy(loads["whole"], renamed)

    with duckdb.connect(str(renamed), read_only=True) as con:
        sql = [text for (text,) in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()]
        counts = [con.execute(f"SELECT COUNT(*) FROM {view}").fetchone()[0] for view in ("mrr_movements", "customer_mrr", "cohorts", "mrr_check")]

    assert len(sql) == 4 and not any(re.search(r"\b(new|old|whole)\.", text) for text in sql)
    assert all(counts)
