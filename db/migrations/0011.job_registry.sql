-- depends: 0010.jobs
-- The scheduled jobs as `starpass jobs install` registered them (name, schedule, the interval
-- their health is judged by). The pg_cron tables live in the `postgres` database; the health
-- check reads them through postgres_fdw (schema cron_remote), set up by the install step.
CREATE TABLE ops.jobs (
    job_name     text PRIMARY KEY CHECK (job_name ~ '^[a-z][a-z0-9_]*$'),
    cron_name    text NOT NULL UNIQUE,
    schedule     text NOT NULL,
    command      text NOT NULL,
    every        interval NOT NULL CHECK (every > interval '0'),
    installed_at timestamptz NOT NULL
);
COMMENT ON TABLE ops.jobs IS 'Jobs scheduled on pg_cron by `starpass jobs install`, with the interval they should run at.';

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('jobs.stale_after_intervals', 'integer', '3', '3',
     'A job that has not succeeded for this many of its intervals raises jobs.stale.');
