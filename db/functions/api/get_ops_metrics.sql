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
    -- Seconds since each scheduled job last succeeded (since install if never), from pg_cron.
    IF to_regclass('cron_remote.job_run_details') IS NOT NULL THEN
        RETURN QUERY EXECUTE $q$
            SELECT 'job_seconds_since_success', j.job_name,
                   extract(epoch FROM $1 - coalesce(
                       (SELECT max(d.end_time) FROM cron_remote.job AS c
                        JOIN cron_remote.job_run_details AS d USING (jobid)
                        WHERE c.jobname = j.cron_name AND d.status = 'succeeded'), j.installed_at))::double precision
            FROM ops.jobs AS j
        $q$ USING v_now;
    END IF;
END
$$;
COMMENT ON FUNCTION api.get_ops_metrics() IS
    'Figures for /metrics: the alert outbox backlog by state, seconds since each job''s last success.';
