-- mrr_check(month, from_activities, from_chartmogul, difference)
-- Do the activities explain ChartMogul's MRR? For each month with a bucket in the mrr stream (a calendar month, the
-- buckets dated in the account's time zone), its last bucket in that month (from_chartmogul) against the activities'
-- movements summed up to that bucket's date in the account's time zone (from_activities: 0 before the first
-- activity); difference = from_chartmogul - from_activities, never NULL. Cents.
CREATE OR REPLACE VIEW mrr_check AS
WITH zone AS (
    SELECT coalesce(max(time_zone), 'UTC') AS name FROM account
),
days AS (
    SELECT timezone(zone.name, a."date" AT TIME ZONE 'UTC')::DATE AS day, sum(a.activity_mrr_movement) AS movement
    FROM activities AS a, zone
    GROUP BY ALL
),
running AS (
    SELECT day, sum(movement) OVER (ORDER BY day) AS mrr FROM days
),
buckets AS (
    SELECT date_trunc('month', "date")::DATE AS month, max("date") AS bucket FROM mrr GROUP BY ALL
),
checked AS (
    SELECT buckets.month, coalesce(running.mrr, 0) AS from_activities, coalesce(mrr.mrr, 0) AS from_chartmogul
    FROM buckets
        JOIN mrr ON mrr."date" = buckets.bucket
        ASOF LEFT JOIN running ON buckets.bucket >= running.day
)
SELECT month, from_activities::BIGINT AS from_activities, from_chartmogul::BIGINT AS from_chartmogul,
       (from_chartmogul - from_activities)::BIGINT AS difference
FROM checked
ORDER BY month;
