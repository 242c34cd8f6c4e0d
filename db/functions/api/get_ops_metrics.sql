CREATE OR REPLACE FUNCTION api.get_ops_metrics()
RETURNS TABLE (
    metric  text,
    label   text,
    value   double precision
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    -- Alerts waiting for a dispatcher, by state (dead ones need an operator).
    RETURN QUERY
    SELECT 'alert_outbox_backlog', s.state, count(a.alert_id)::double precision
    FROM unnest(ARRAY['pending', 'dead']) AS s(state)
    LEFT JOIN ops.alert_outbox AS a ON a.state = s.state
    GROUP BY s.state;
    -- Per scheduled job, from pg_cron: job_never_succeeded (1 or 0, for every job, so an alert
    -- rule always has a series) and, only for a job that has succeeded, the seconds since its
    -- last success. A job that never ran has no age to report; its staleness is
    -- api.check_job_health's (counted from when it was installed in its current form).
    IF to_regclass('cron_remote.job_run_details') IS NOT NULL THEN
        RETURN QUERY EXECUTE $q$
            WITH j AS (
                SELECT j.job_name,
                       (SELECT max(d.end_time) FROM cron_remote.job AS c
                        JOIN cron_remote.job_run_details AS d USING (jobid)
                        WHERE c.jobname = j.cron_name AND d.status = 'succeeded') AS last_success
                FROM ops.jobs AS j
            )
            SELECT 'job_never_succeeded', j.job_name,
                   CASE WHEN j.last_success IS NULL THEN 1 ELSE 0 END::double precision
            FROM j
            UNION ALL
            SELECT 'job_seconds_since_success', j.job_name,
                   extract(epoch FROM $1 - j.last_success)::double precision
            FROM j WHERE j.last_success IS NOT NULL
        $q$ USING v_now;
    END IF;
END
$$;
COMMENT ON FUNCTION api.get_ops_metrics() IS
    'Figures for /metrics: the alert outbox backlog by state; per job, whether it never succeeded and the seconds since its last success (only if it did).';
