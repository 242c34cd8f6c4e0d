CREATE OR REPLACE FUNCTION ops.guard_job_run_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kept  bigint;
BEGIN
    SELECT g.job_run_id INTO v_kept FROM gone AS g
    WHERE g.finished_at >= ops.now() - ops.setting_interval('retention.job_runs')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'ops.job_runs is append-only until retention',
            DETAIL  = format('job run %s finished within retention.job_runs', v_kept),
            HINT    = 'api.prune_history deletes job runs once retention allows.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ops.guard_job_run_delete() IS
    'Trigger (after each DELETE statement): refuses deleting a job run newer than retention.job_runs.';
