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
    v_now            timestamptz := ops.now();
    v_pepper         bytea := promo.pepper();
    v_pepper_prev    bytea := promo.pepper(p_previous => true);
    v_code           text := promo.normalize_code_or_null(p_code);
    -- Identifies the request for replays without keeping the code: the code's own hash, or a
    -- hash of the raw input (marked, so it can never equal a code's) when it did not normalize.
    v_request        text := coalesce(v_code, 'invalid:' || left(coalesce(p_code, ''), 256));
    v_request_hash   bytea := promo.hmac(v_request, v_pepper);
    -- What a key binds: this user and this code (under either pepper during a rotation).
    v_binding        bytea := ops.request_hash(jsonb_build_array(p_user_id, encode(v_request_hash, 'hex')));
    v_binding_prev   bytea;
    v_campaign       promo.promo_codes;
    v_result         api.redeem_result;
    v_user_known     boolean;
    v_blocked        timestamptz;
    v_taken          bigint;
    v_live_id        bigint;
    v_live_until     timestamptz;
    v_slot_no        smallint;
    v_attributed_to  bigint;
    v_countable      boolean := true;
BEGIN
    -- Plain IFs: on this hot path a PERFORM costs a query even when the check passes.
    IF NOT core.is_user_id(p_user_id) THEN
        PERFORM core.check_user_id(p_user_id);
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM ops.require_read_committed('redeem_promo_code');
    END IF;
    IF v_pepper_prev IS NOT NULL THEN
        v_binding_prev := ops.request_hash(jsonb_build_array(
            p_user_id, encode(promo.hmac(v_request, v_pepper_prev), 'hex')));
    END IF;

    -- Decide: each check either settles the outcome (EXIT decide) or passes to the next, in
    -- the documented order. Nothing is written here except the capacity slot's row lock.
    <<decide>>
    BEGIN
        -- The first answer to a key is binding (a replay, or IDEMPOTENCY_CONFLICT for another
        -- user or code); same-key requests queue on the key's lock (the malformed key: SP422).
        v_result := ops.idempotent_answer(NULL::api.redeem_result,
            ops.find_idempotent('promo.redeem', p_idempotency_key, v_binding, v_binding_prev));
        EXIT decide WHEN v_result.outcome IS NOT NULL;
        v_result.replayed := false;

        -- Throttle, under the user's lock: a blocked user learns nothing about the code. One
        -- read of the user's row says both that it exists and whether the throttle blocks.
        PERFORM promo.lock_user(p_user_id);
        SELECT u.promo_blocked_until INTO v_blocked FROM core.users AS u WHERE u.user_id = p_user_id;
        v_user_known := FOUND;
        IF v_blocked > v_now THEN
            v_result.outcome := 'THROTTLED';
            v_result.blocked_until := v_blocked;
            EXIT decide;
        END IF;
        IF NOT v_user_known THEN
            PERFORM core.ensure_user(p_user_id);
        END IF;

        IF v_code IS NULL THEN
            v_result.outcome := 'INVALID_CODE';
            EXIT decide;
        END IF;
        -- A generated batch code with a wrong check character is a typo: INVALID_CODE before
        -- the lookup, not counted by the throttle (the answer follows from the code alone, so
        -- it tells a guesser nothing; docs/promo.md, "Batch codes").
        IF promo.has_wrong_check_character(v_code) THEN
            v_result.outcome := 'INVALID_CODE';
            v_countable := false;
            EXIT decide;
        END IF;
        SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_request_hash;
        IF NOT FOUND AND v_pepper_prev IS NOT NULL THEN
            -- During a pepper rotation a code may still carry the previous pepper's hash:
            -- re-hash it now, so the rotation can end.
            UPDATE promo.promo_codes AS c SET code_hash = v_request_hash, pepper_id = promo.pepper_id(v_pepper)
            WHERE c.code_hash = promo.hmac(v_code, v_pepper_prev)
            RETURNING * INTO v_campaign;
            IF NOT FOUND THEN  -- a concurrent redemption re-hashed it first
                SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_request_hash;
            END IF;
        END IF;
        IF v_campaign.promo_code_id IS NULL THEN
            v_result.outcome := 'NOT_FOUND';
            v_attributed_to := promo.campaign_by_prefix(v_code);
            EXIT decide;
        END IF;
        v_result.promo_code_id := v_campaign.promo_code_id;
        v_result.kind := v_campaign.kind;
        v_result.grant_days := v_campaign.grant_days;
        v_result.discount_percent := v_campaign.discount_percent;
        v_result.outcome := promo.campaign_refusal(v_campaign, v_now);
        EXIT decide WHEN v_result.outcome IS NOT NULL;

        -- Per user (serialized by the user lock): a live reservation is handed back; expired
        -- reservations do not count, revoked redemptions do.
        SELECT count(*) FILTER (WHERE promo.units_used(r.status) = 1
                                      OR (promo.units_held(r.status) = 1 AND r.reserved_until > v_now)),
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
            EXIT decide;
        END IF;
        IF v_taken >= v_campaign.per_user_limit THEN
            -- DEPLETED comes first, even before the rollover job marks the campaign (committed
            -- state, no locks: this answer takes nothing).
            v_result.outcome := CASE WHEN promo.has_capacity(v_campaign.promo_code_id, v_now)
                                     THEN 'ALREADY_REDEEMED' ELSE 'DEPLETED' END;
            EXIT decide;
        END IF;

        v_slot_no := promo.take_capacity(v_campaign.promo_code_id, v_now, v_campaign.max_uses);
        IF v_slot_no IS NULL THEN
            -- Depleted, or the campaign's status changed while this call waited for capacity
            -- (take_capacity stops waiting then): re-read it to say which. Read by the code's
            -- hash, as above: no other index of the table joins the locks taken.
            SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_campaign.code_hash;
            v_result.outcome := coalesce(promo.campaign_refusal(v_campaign, v_now), 'DEPLETED');
        END IF;
    END decide;

    -- Record, once: the booking when the decision took a unit, the attempt (which may block
    -- the user), then the first answer to the key.
    IF v_result.outcome IS NULL THEN
        v_result := promo.book_redemption(v_result, p_user_id, v_slot_no, v_now);
    END IF;
    v_result := promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now,
                                     v_attributed_to, v_countable);
    IF NOT v_result.replayed AND v_result.outcome NOT IN ('THROTTLED', 'IDEMPOTENCY_CONFLICT') THEN
        PERFORM ops.save_idempotent('promo.redeem', p_idempotency_key, v_binding, to_jsonb(v_result));
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.redeem_promo_code(bigint, text, text) IS
    'Redeems a promo code for a user, idempotently by key: APPLIED (premium granted) or RESERVED (discount held) or a refusal outcome; never raises for a business outcome.';
