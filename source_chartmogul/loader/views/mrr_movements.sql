-- mrr_movements(month, starting_mrr, new_biz, expansion, contraction, churn, reactivation, ending_mrr)
-- What moved MRR each month: the MRR waterfall, from the activities. A row per calendar month of the account's time
-- zone (account.time_zone), from the first activity's month to the last one's, months without an activity included;
-- each movement column is the sum of that type's `activity-mrr-movement` in the month (contraction and churn
-- negative, as ChartMogul signs them), ending_mrr the running sum of every movement, starting_mrr the month before's.
-- Amounts in cents of the account's currency, as in the tables.
CREATE OR REPLACE VIEW mrr_movements AS
WITH zone AS (
    SELECT coalesce(max(time_zone), 'UTC') AS name FROM account
),
moves AS (
    SELECT date_trunc('month', timezone(zone.name, a."date" AT TIME ZONE 'UTC'))::DATE AS month, a."type" AS kind,
           a.activity_mrr_movement AS movement
    FROM activities AS a, zone
),
months AS (
    SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))::DATE AS month FROM moves
),
by_month AS (
    SELECT months.month,
           coalesce(sum(movement) FILTER (WHERE kind = 'new_biz'), 0) AS new_biz,
           coalesce(sum(movement) FILTER (WHERE kind = 'expansion'), 0) AS expansion,
           coalesce(sum(movement) FILTER (WHERE kind = 'contraction'), 0) AS contraction,
           coalesce(sum(movement) FILTER (WHERE kind = 'churn'), 0) AS churn,
           coalesce(sum(movement) FILTER (WHERE kind = 'reactivation'), 0) AS reactivation,
           coalesce(sum(movement), 0) AS net
    FROM months LEFT JOIN moves USING (month)
    GROUP BY months.month
)
SELECT month,
       coalesce(sum(net) OVER (ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS starting_mrr,
       new_biz::BIGINT AS new_biz, expansion::BIGINT AS expansion, contraction::BIGINT AS contraction,
       churn::BIGINT AS churn, reactivation::BIGINT AS reactivation,
       sum(net) OVER (ORDER BY month)::BIGINT AS ending_mrr
FROM by_month
ORDER BY month;
