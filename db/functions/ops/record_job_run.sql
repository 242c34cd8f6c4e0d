CREATE OR REPLACE FUNCTION ops.record_job_run(
    p_job_name    text,
    p_actor       text,
    p_started_at  timestamptz,
    p_result      integer,
    p_error       text DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_status      text := CASE WHEN p_error IS NULL THEN 'succeeded' ELSE 'failed' END;
    v_job_run_id  bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    -- Wall-clock times, as pg_cron records its own runs: `starpass jobs status` shows both.
    INSERT INTO ops.job_runs (job_name, actor, started_at, finished_at, status, result, error)
    VALUES (p_job_name, p_actor, p_started_at, clock_timestamp(), v_status,
            CASE WHEN p_error IS NULL THEN p_result END, left(p_error, 1000))
    RETURNING job_run_id INTO v_job_run_id;
    PERFORM ops.write_audit(p_actor, 'ops.job_run', 'job', p_job_name, NULL,
        jsonb_strip_nulls(jsonb_build_object('status', v_status, 'result', p_result, 'job_run_id', v_job_run_id)));
    RETURN v_job_run_id;
END
$$;
COMMENT ON FUNCTION ops.record_job_run(text, text, timestamptz, integer, text) IS
    'Records a job run by hand (`starpass jobs run`) in ops.job_runs and the audit log, as the operator; failed when p_error is given. Returns its id.';
