-- cohorts(cohort_month, months_since, customers, mrr)
-- How each cohort retains: the customers whose first new_biz activity came in cohort_month (a calendar month of the
-- account's time zone), and how many of them have MRR > 0 at the end of the month months_since months later (0: the
-- cohort month itself; a reactivated customer counts again), with their MRR (cents), up to the last month of
-- customer_mrr; a month in which none of them has MRR is a row of zeros.
CREATE OR REPLACE VIEW cohorts AS
WITH zone AS (
    SELECT coalesce(max(time_zone), 'UTC') AS name FROM account
),
members AS (
    SELECT a.customer_uuid, min(date_trunc('month', timezone(zone.name, a."date" AT TIME ZONE 'UTC')))::DATE AS cohort_month
    FROM activities AS a, zone
    WHERE a."type" = 'new_biz'
    GROUP BY a.customer_uuid
),
grid AS (
    SELECT cohort_month,
           unnest(generate_series(0, datediff('month', cohort_month, (SELECT max(month) FROM customer_mrr)))) AS months_since
    FROM (SELECT DISTINCT cohort_month FROM members)
),
retained AS (
    SELECT members.cohort_month, datediff('month', members.cohort_month, customer_mrr.month) AS months_since,
           count(*) AS customers, sum(customer_mrr.mrr) AS mrr
    FROM members JOIN customer_mrr USING (customer_uuid)
    WHERE customer_mrr.mrr > 0 AND customer_mrr.month >= members.cohort_month
    GROUP BY ALL
)
SELECT grid.cohort_month, grid.months_since, coalesce(retained.customers, 0)::BIGINT AS customers,
       coalesce(retained.mrr, 0)::BIGINT AS mrr
FROM grid LEFT JOIN retained USING (cohort_month, months_since)
ORDER BY grid.cohort_month, grid.months_since;
