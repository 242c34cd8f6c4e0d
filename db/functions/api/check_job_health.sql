CREATE OR REPLACE FUNCTION api.check_job_health()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_job     record;
    v_raised  integer := 0;
BEGIN
    IF to_regclass('cron_remote.job_run_details') IS NULL THEN
        RAISE NOTICE 'pg_cron is not reachable from this database (run `starpass jobs install`)';
        RETURN 0;
    END IF;
    -- The last run and the last success of each registered job, read from pg_cron's own
    -- history in the `postgres` database (postgres_fdw, as a read-only role).
    FOR v_job IN EXECUTE $q$
        SELECT j.job_name, j.cron_name, j.every, j.installed_at,
               last.status AS last_status, last.runid AS last_runid,
               left(last.return_message, 300) AS last_message,
               (SELECT max(d.end_time) FROM cron_remote.job_run_details AS d
                WHERE d.jobid = c.jobid AND d.status = 'succeeded') AS last_success
        FROM ops.jobs AS j
        LEFT JOIN cron_remote.job AS c ON c.jobname = j.cron_name
        LEFT JOIN LATERAL (SELECT d.status, d.runid, d.return_message FROM cron_remote.job_run_details AS d
                           WHERE d.jobid = c.jobid AND d.status IN ('succeeded', 'failed')
                           ORDER BY d.runid DESC LIMIT 1) AS last ON true
    $q$
    LOOP
        IF v_job.last_status = 'failed' THEN
            IF ops.raise_alert('jobs.failed', 'error',
                    format('job %s failed: %s', v_job.job_name, v_job.last_message),
                    jsonb_build_object('job', v_job.job_name, 'runid', v_job.last_runid,
                                       'message', v_job.last_message),
                    'jobs.failed:' || v_job.job_name || ':' || v_job.last_runid) IS NOT NULL THEN
                v_raised := v_raised + 1;
            END IF;
        END IF;
        IF coalesce(v_job.last_success, v_job.installed_at)
           < v_now - ops.setting_integer('jobs.stale_after_intervals') * v_job.every THEN
            IF ops.raise_alert('jobs.stale', 'error',
                    format('job %s has not succeeded since %s', v_job.job_name,
                           coalesce(v_job.last_success::text, 'it was installed')),
                    jsonb_build_object('job', v_job.job_name, 'last_success', v_job.last_success,
                                       'every', v_job.every),
                    'jobs.stale:' || v_job.job_name) IS NOT NULL THEN
                v_raised := v_raised + 1;
            END IF;
        ELSIF v_job.last_success IS NOT NULL THEN
            -- Fresh again: a jobs.stale still open for this job is resolved.
            PERFORM ops.resolve_alert('jobs.stale', jsonb_build_object('job', v_job.job_name),
                format('job %s succeeded again at %s', v_job.job_name, v_job.last_success));
        END IF;
    END LOOP;
    RETURN v_raised;
END
$$;
COMMENT ON FUNCTION api.check_job_health() IS
    'Job: raises jobs.failed for a job whose last run failed and jobs.stale for one without a success for jobs.stale_after_intervals of its intervals (resolved once it succeeds again); returns how many alerts it raised.';
