CREATE OR REPLACE FUNCTION api.init_purchase(
    p_user_id              bigint,
    p_plan_code            text,
    p_promo_redemption_id  bigint,
    p_idempotency_key      text
)
RETURNS api.init_purchase_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_hash        bytea := ops.request_hash(jsonb_build_array(p_user_id, p_plan_code, p_promo_redemption_id));
    v_plan        billing.plans;
    v_redemption  promo.promo_redemptions;
    v_percent     integer;
    v_purchase    billing.purchases;
    v_replayed    boolean := true;
    v_result      api.init_purchase_result;
BEGIN
    PERFORM ops.require_read_committed('init_purchase');
    PERFORM core.check_user_id(p_user_id);
    v_result := ops.idempotent_answer(NULL::api.init_purchase_result,
                                      ops.find_idempotent('billing.init_purchase', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay, or IDEMPOTENCY_CONFLICT
    END IF;

    SELECT * INTO v_plan FROM billing.plans AS pl WHERE pl.plan_code = p_plan_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'plan_not_found', MESSAGE = 'plan not found',
            DETAIL = format('no plan %L', p_plan_code), HINT = 'api.list_plans() lists them.';
    ELSIF NOT v_plan.is_active THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'plan_withdrawn', MESSAGE = 'plan withdrawn',
            DETAIL = format('plan %s is not on sale', p_plan_code);
    END IF;

    IF p_promo_redemption_id IS NOT NULL THEN
        -- Lock order: redemption, then purchase. One reservation backs one open purchase.
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = p_promo_redemption_id
        FOR UPDATE;
        IF NOT FOUND OR v_redemption.user_id <> p_user_id THEN
            RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'reservation_not_found', MESSAGE = 'promo reservation not found',
                DETAIL = format('user %s holds no redemption %s', p_user_id, p_promo_redemption_id);
        END IF;
        IF v_redemption.kind <> 'PERCENT_DISCOUNT' OR v_redemption.status <> 'RESERVED'
           OR v_redemption.reserved_until <= v_now THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'reservation_not_usable', MESSAGE = 'promo reservation not usable',
                DETAIL = format('redemption %s is %s%s', p_promo_redemption_id, v_redemption.status,
                                CASE WHEN v_redemption.status = 'RESERVED' THEN ' but its hold ran out' ELSE '' END),
                HINT = 'Redeem the code again for a fresh reservation.';
        END IF;
        SELECT * INTO v_purchase FROM billing.purchases AS p
        WHERE p.promo_redemption_id = p_promo_redemption_id AND p.status IN ('INIT', 'PRECHECKOUT_OK');
        IF FOUND AND v_purchase.plan_code <> p_plan_code THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'reservation_backs_purchase', MESSAGE = 'promo reservation already backs a purchase',
                DETAIL = format('purchase %s of plan %s is open with it', v_purchase.purchase_id, v_purchase.plan_code),
                HINT = 'Finish or cancel that purchase first.';
        END IF;
        SELECT c.discount_percent INTO v_percent FROM promo.promo_codes AS c
        WHERE c.promo_code_id = v_redemption.promo_code_id;
    END IF;

    -- A second init with the same reservation (another key) hands back its open purchase.
    IF v_purchase.purchase_id IS NULL THEN
        v_replayed := false;
        -- A bot user's first purchase is often their first contact with us.
        PERFORM core.ensure_user(p_user_id);
        INSERT INTO billing.purchases AS p (user_id, plan_code, premium_days, promo_redemption_id,
                                            idempotency_key, invoice_payload, base_price_stars,
                                            discount_percent, price_stars, created_at)
        VALUES (p_user_id, p_plan_code, v_plan.premium_days, p_promo_redemption_id, p_idempotency_key,
                -- 24 random bytes, URL-safe: opaque, unguessable, nothing personal.
                translate(encode(extensions.gen_random_bytes(24), 'base64'), '+/', '-_'),
                v_plan.price_stars, v_percent, billing.discount_price(v_plan.price_stars, v_percent), v_now)
        RETURNING * INTO v_purchase;
    END IF;

    v_result := ROW('OPENED', v_purchase.purchase_id, v_purchase.invoice_payload, v_purchase.price_stars,
                    v_purchase.base_price_stars, v_purchase.discount_percent, v_purchase.currency,
                    v_plan.title, v_plan.description, v_purchase.premium_days,
                    v_replayed);
    PERFORM ops.save_idempotent('billing.init_purchase', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.init_purchase(bigint, text, bigint, text) IS
    'Opens a purchase of a plan at a price fixed now (optionally with the user''s live discount reservation): OPENED with what sendInvoice needs, or IDEMPOTENCY_CONFLICT for a key bound to other arguments; idempotent by key (ops.find_idempotent).';
