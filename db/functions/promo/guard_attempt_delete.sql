CREATE OR REPLACE FUNCTION promo.guard_attempt_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kept  promo.promo_attempts;
BEGIN
    -- Attempts are append-only until retention: a redemption's binding attempt is its record
    -- for ever (api.check_invariants), any other only once it is past
    -- promo.attempts_prunable_before(). Per statement: one cutoff for a batch of thousands.
    SELECT g.* INTO v_kept FROM gone AS g
    WHERE (g.binding AND g.promo_redemption_id IS NOT NULL) OR g.created_at >= promo.attempts_prunable_before()
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'promo.promo_attempts is append-only until retention',
            DETAIL  = format('attempt %s is %s', v_kept.attempt_id,
                             CASE WHEN v_kept.binding AND v_kept.promo_redemption_id IS NOT NULL
                                  THEN 'the binding attempt of redemption ' || v_kept.promo_redemption_id
                                  ELSE 'inside its windows and retention.promo_attempts' END),
            HINT    = 'api.prune_history deletes attempts once retention allows.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.guard_attempt_delete() IS
    'Trigger (after each DELETE statement): refuses deleting a promo attempt retention keeps (a redemption''s binding attempt, or one newer than promo.attempts_prunable_before()).';
