CREATE OR REPLACE FUNCTION api.adjust_premium_days(
    p_user_id  bigint,
    p_days     integer,
    p_actor    text,
    p_reason   text
)
RETURNS TABLE (
    ledger_id      bigint,
    audit_id       bigint,
    premium_until  timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_audit_id  bigint;
    v_entry     billing.ledger;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(p_days <> 0 AND p_days BETWEEN -3660 AND 3660, 'p_days',
        format('%s days is not a correction (non-zero, at most 3660 either way)', p_days), NULL);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a manual correction needs a reason of 1 to 1000 characters',
        'Say why, e.g. the support ticket it resolves.');

    -- An unknown user makes post_ledger_entry raise SP404, which also undoes the audit row.
    v_audit_id := ops.write_audit(p_actor, 'billing.premium_adjusted', 'user', p_user_id::text,
                                  p_reason, jsonb_build_object('days', p_days));
    v_entry := billing.post_ledger_entry(p_user_id, 'ADMIN_ADJUSTMENT', v_audit_id,
                                         p_premium_days => p_days, p_actor => p_actor);
    RETURN QUERY SELECT v_entry.ledger_id, v_audit_id, v_entry.premium_until_after;
END
$$;
COMMENT ON FUNCTION api.adjust_premium_days(bigint, integer, text, text) IS
    'Operator correction: adds (or removes, negative) premium days with an audit row and an ADMIN_ADJUSTMENT ledger entry.';
