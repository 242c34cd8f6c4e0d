CREATE OR REPLACE FUNCTION api.redeem_promo_code(
    p_user_id          bigint,
    p_code             text,
    p_idempotency_key  text
)
RETURNS api.redeem_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now           timestamptz := ops.now();
    v_pepper        bytea := promo.pepper();
    v_pepper_prev   bytea := promo.pepper(p_previous => true);
    v_code          text := promo.normalize_code_or_null(p_code);
    -- Identifies the request for replays without keeping the code: the code's own hash, or a
    -- hash of the raw input (marked, so it can never equal a code's) when it did not normalize.
    v_request       text := coalesce(v_code, 'invalid:' || left(coalesce(p_code, ''), 256));
    v_request_hash  bytea := promo.hmac(v_request, v_pepper);
    v_prior         promo.promo_attempts;
    v_campaign      promo.promo_codes;
    v_result        api.redeem_result;
    v_taken         bigint;
    v_live_id       bigint;
    v_live_until    timestamptz;
    v_slot_no       smallint;
    v_blocked       timestamptz;
BEGIN
    -- Plain IFs: on this hot path a PERFORM costs a full SPI query even when the check passes.
    IF NOT core.is_user_id(p_user_id) THEN
        PERFORM core.check_user_id(p_user_id);
    END IF;
    IF (p_idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$') IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_idempotency_key',
            'an idempotency key is 8 to 128 characters of A-Z a-z 0-9 . _ : -',
            'Send one random key per logical request (e.g. a UUID) and reuse it only to retry.');
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM ops.require_read_committed('redeem_promo_code');
    END IF;
    v_result.replayed := false;

    -- Replay: the first answer to a key is binding. Same-key requests queue on this lock.
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('promo.redeem_key'), pg_catalog.hashtext(p_idempotency_key));
    SELECT * INTO v_prior FROM promo.promo_attempts AS a
    WHERE a.idempotency_key = p_idempotency_key AND a.binding;
    IF FOUND THEN
        IF v_prior.user_id = p_user_id
           AND v_prior.request_hash IN (v_request_hash, promo.hmac(v_request, v_pepper_prev)) THEN
            v_result := jsonb_populate_record(NULL::api.redeem_result, v_prior.result);
            v_result.replayed := true;
            RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
        END IF;
        -- Counted like any refusal, unless the user is blocked (record_attempt decides).
        v_result.outcome := 'IDEMPOTENCY_CONFLICT';
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;

    -- Throttle: a blocked user learns nothing about the code, and the attempt is not counted.
    PERFORM pg_catalog.pg_advisory_xact_lock(p_user_id);  -- promo.lock_user, inlined: hot path
    SELECT t.blocked_until INTO v_blocked FROM promo.user_throttle AS t WHERE t.user_id = p_user_id;
    IF v_blocked > v_now THEN
        v_result.outcome := 'THROTTLED';
        v_result.blocked_until := v_blocked;
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;
    PERFORM core.ensure_user(p_user_id);

    IF v_code IS NULL THEN
        v_result.outcome := 'INVALID_CODE';
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;

    -- During a pepper rotation a code may still carry the previous pepper's hash.
    SELECT * INTO v_campaign FROM promo.promo_codes AS c
    WHERE c.code_hash IN (v_request_hash, promo.hmac(v_code, v_pepper_prev))
    ORDER BY c.code_hash = v_request_hash DESC
    LIMIT 1;
    IF NOT FOUND THEN
        v_result.outcome := 'NOT_FOUND';
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now,
                                    promo.campaign_by_prefix(v_code));
    END IF;
    IF v_campaign.code_hash <> v_request_hash THEN
        -- Found under the previous pepper: re-hash it now, so the rotation can end.
        UPDATE promo.promo_codes AS c SET code_hash = v_request_hash, pepper_id = promo.pepper_id(v_pepper)
        WHERE c.promo_code_id = v_campaign.promo_code_id AND c.code_hash = v_campaign.code_hash;
    END IF;
    v_result.promo_code_id := v_campaign.promo_code_id;
    v_result.kind := v_campaign.kind;
    v_result.grant_days := v_campaign.grant_days;
    v_result.discount_percent := v_campaign.discount_percent;

    v_result.outcome := promo.campaign_refusal(v_campaign, v_now);
    IF v_result.outcome IS NOT NULL THEN
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;

    -- Per user (serialized by the user lock): a live reservation is handed back; expired
    -- reservations do not count, revoked redemptions do.
    SELECT count(*) FILTER (WHERE r.status IN ('APPLIED', 'CONSUMED', 'REVOKED')
                                  OR (r.status = 'RESERVED' AND r.reserved_until > v_now)),
           (array_agg(r.promo_redemption_id ORDER BY r.reserved_until DESC)
                FILTER (WHERE r.status = 'RESERVED' AND r.reserved_until > v_now))[1],
           max(r.reserved_until) FILTER (WHERE r.status = 'RESERVED' AND r.reserved_until > v_now)
    INTO v_taken, v_live_id, v_live_until
    FROM promo.promo_redemptions AS r
    WHERE r.promo_code_id = v_campaign.promo_code_id AND r.user_id = p_user_id;
    IF v_live_id IS NOT NULL THEN
        v_result.outcome := 'RESERVED';
        v_result.promo_redemption_id := v_live_id;
        v_result.reserved_until := v_live_until;
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;
    IF v_taken >= v_campaign.per_user_limit THEN
        -- DEPLETED comes first, even before the rollover job marks the campaign (committed
        -- state, no locks: this answer takes nothing).
        v_result.outcome := CASE WHEN promo.has_capacity(v_campaign.promo_code_id, v_now)
                                 THEN 'ALREADY_REDEEMED' ELSE 'DEPLETED' END;
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;

    v_slot_no := promo.take_capacity(v_campaign.promo_code_id, v_now);
    -- Re-read the status once the slot is held: a pause that committed while this call waited
    -- for capacity is seen here (status changes write the campaign row only).
    SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.promo_code_id = v_campaign.promo_code_id;
    v_result.outcome := coalesce(promo.campaign_refusal(v_campaign, v_now),
                                 CASE WHEN v_slot_no IS NULL THEN 'DEPLETED' END);
    IF v_result.outcome IS NOT NULL THEN
        RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
    END IF;

    IF v_campaign.kind = 'PREMIUM_GRANT' THEN
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at)
        VALUES (v_campaign.promo_code_id, v_slot_no, p_user_id, v_campaign.kind, 'APPLIED', v_now)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.premium_until := (billing.post_ledger_entry(p_user_id, 'PROMO_PREMIUM',
            v_result.promo_redemption_id, p_premium_days => v_campaign.grant_days,
            p_actor => 'promo')).premium_until_after;
        v_result.outcome := 'APPLIED';
    ELSE
        v_result.reserved_until := v_now + ops.setting_interval('promo.reservation_ttl');
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status,
                                             created_at, reserved_until)
        VALUES (v_campaign.promo_code_id, v_slot_no, p_user_id, v_campaign.kind, 'RESERVED', v_now,
                v_result.reserved_until)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.outcome := 'RESERVED';
    END IF;
    RETURN promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now);
END
$$;
COMMENT ON FUNCTION api.redeem_promo_code(bigint, text, text) IS
    'Redeems a promo code for a user, idempotently by key: APPLIED (premium granted) or RESERVED (discount held) or a refusal outcome; never raises for a business outcome.';
