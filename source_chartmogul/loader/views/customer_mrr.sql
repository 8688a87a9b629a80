-- customer_mrr(customer_uuid, month, mrr)
-- What each customer paid, month by month: its MRR at the end of each calendar month of the account's time zone, the
-- running sum of its `activity-mrr-movement`s, from the month of its first activity to the last month of
-- mrr_movements, in the months it has any MRR. Summed per month, it is mrr_movements' ending_mrr. Cents.
CREATE OR REPLACE VIEW customer_mrr AS
WITH zone AS (
    SELECT coalesce(max(time_zone), 'UTC') AS name FROM account
),
moves AS (
    SELECT a.customer_uuid, date_trunc('month', timezone(zone.name, a."date" AT TIME ZONE 'UTC'))::DATE AS month,
           sum(a.activity_mrr_movement) AS movement
    FROM activities AS a, zone
    GROUP BY ALL
),
months AS (
    SELECT customer_uuid, unnest(generate_series(min(month), (SELECT max(month) FROM moves), INTERVAL 1 MONTH))::DATE AS month
    FROM moves
    GROUP BY customer_uuid
),
running AS (
    SELECT months.customer_uuid, months.month,
           sum(coalesce(moves.movement, 0)) OVER (PARTITION BY months.customer_uuid ORDER BY months.month) AS mrr
    FROM months LEFT JOIN moves
        ON moves.customer_uuid IS NOT DISTINCT FROM months.customer_uuid AND moves.month = months.month
)
SELECT customer_uuid, month, mrr::BIGINT AS mrr
FROM running
WHERE mrr <> 0
ORDER BY customer_uuid, month;
