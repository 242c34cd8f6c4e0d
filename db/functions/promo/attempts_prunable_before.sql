CREATE OR REPLACE FUNCTION promo.attempts_prunable_before()
RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Past every window that counts attempts (throttle, its block, the guard), and then the
    -- retention period: a pruned attempt can change no count, no block, no pause.
    SELECT ops.now()
           - greatest(ops.setting_interval('promo.throttle_window'),
                      ops.setting_interval('promo.throttle_block'),
                      ops.setting_interval('promo.guard_window'))
           - ops.setting_interval('retention.promo_attempts')
$$;
COMMENT ON FUNCTION promo.attempts_prunable_before() IS
    'The time before which a promo attempt may be pruned: now minus the longest counting window (throttle, throttle block, guard) minus retention.promo_attempts.';
