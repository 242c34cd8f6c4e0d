CREATE OR REPLACE FUNCTION api.rollback_refunded_promo(
    p_purchase_id      bigint,
    p_actor            text,
    p_idempotency_key  text,
    p_reason           text DEFAULT NULL
)
RETURNS api.rollback_refunded_promo_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_hash    bytea := ops.request_hash(jsonb_build_array(p_purchase_id));
    v_result  api.rollback_refunded_promo_result;
BEGIN
    PERFORM ops.require_read_committed('rollback_refunded_promo');
    PERFORM ops.check_argument(p_reason IS NULL OR char_length(p_reason) BETWEEN 1 AND 1000, 'p_reason',
        'a reason is 1 to 1000 characters', NULL);
    PERFORM ops.check_actor(p_actor);
    v_result := ops.idempotent_answer(NULL::api.rollback_refunded_promo_result,
                                      ops.find_idempotent('promo.rollback_refunded_promo', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay, or IDEMPOTENCY_CONFLICT
    END IF;

    SELECT r.outcome, p_purchase_id, r.promo_redemption_id, false INTO v_result
    FROM promo.revoke_refunded_redemption(p_purchase_id, p_actor) AS r;
    PERFORM ops.write_audit(p_actor, 'promo.rollback_requested', 'purchase', p_purchase_id::text, p_reason,
        jsonb_build_object('outcome', v_result.outcome, 'promo_redemption_id', v_result.promo_redemption_id,
                           'idempotency_key', p_idempotency_key));
    INSERT INTO promo.rollback_requests (idempotency_key, purchase_id, actor, created_at)
    VALUES (p_idempotency_key, p_purchase_id, p_actor, ops.now());
    PERFORM ops.save_idempotent('promo.rollback_refunded_promo', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.rollback_refunded_promo(bigint, text, text, text) IS
    'Revokes the promo redemption of a refunded purchase (REVOKED, ALREADY_REVOKED, NO_PROMO; IDEMPOTENCY_CONFLICT for a key bound to another purchase), idempotently by key; SP404/SP409 when the purchase is missing or not refunded. used_total is never decremented.';
