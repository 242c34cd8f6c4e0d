CREATE OR REPLACE FUNCTION api.rollback_refunded_promo(
    p_purchase_id      bigint,
    p_actor            text,
    p_idempotency_key  text,
    p_reason           text DEFAULT NULL
)
RETURNS TABLE (
    outcome              text,
    purchase_id          bigint,
    promo_redemption_id  bigint,
    replayed             boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_prior   promo.rollback_requests;
    v_result  record;
BEGIN
    PERFORM ops.require_read_committed('rollback_refunded_promo');
    PERFORM ops.check_argument(p_idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$', 'p_idempotency_key',
        'an idempotency key is 8 to 128 characters of A-Z a-z 0-9 . _ : -', NULL);
    PERFORM ops.check_argument(p_reason IS NULL OR char_length(p_reason) BETWEEN 1 AND 1000, 'p_reason',
        'a reason is 1 to 1000 characters', NULL);
    PERFORM ops.check_actor(p_actor);
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('promo.rollback_key'), pg_catalog.hashtext(p_idempotency_key));
    SELECT * INTO v_prior FROM promo.rollback_requests AS q WHERE q.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        IF v_prior.purchase_id <> p_purchase_id THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'idempotency_conflict', MESSAGE = 'idempotency key reused',
                DETAIL = format('key %s rolled back purchase %s', p_idempotency_key, v_prior.purchase_id);
        END IF;
        RETURN QUERY SELECT v_prior.result->>'outcome', p_purchase_id,
                            (v_prior.result->>'promo_redemption_id')::bigint, true;
        RETURN;
    END IF;
    SELECT * INTO v_result FROM promo.revoke_refunded_redemption(p_purchase_id, p_actor);
    PERFORM ops.write_audit(p_actor, 'promo.rollback_requested', 'purchase', p_purchase_id::text, p_reason,
        jsonb_build_object('outcome', v_result.outcome, 'promo_redemption_id', v_result.promo_redemption_id,
                           'idempotency_key', p_idempotency_key));
    INSERT INTO promo.rollback_requests (idempotency_key, purchase_id, actor, result, created_at)
    VALUES (p_idempotency_key, p_purchase_id, p_actor,
            jsonb_build_object('outcome', v_result.outcome, 'promo_redemption_id', v_result.promo_redemption_id),
            ops.now());
    RETURN QUERY SELECT v_result.outcome, p_purchase_id, v_result.promo_redemption_id, false;
END
$$;
COMMENT ON FUNCTION api.rollback_refunded_promo(bigint, text, text, text) IS
    'Revokes the promo redemption of a refunded purchase (REVOKED, ALREADY_REVOKED, NO_PROMO), idempotently by key; SP404/SP409 when the purchase is missing or not refunded. used_total is never decremented.';
