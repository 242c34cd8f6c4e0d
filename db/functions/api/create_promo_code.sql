CREATE OR REPLACE FUNCTION api.create_promo_code(
    p_code              text,
    p_kind              text,
    p_campaign          text,
    p_grant_days        integer DEFAULT NULL,
    p_discount_percent  integer DEFAULT NULL,
    p_max_uses          integer DEFAULT NULL,
    p_per_user_limit    integer DEFAULT 1,
    p_starts_at         timestamptz DEFAULT NULL,
    p_ends_at           timestamptz DEFAULT NULL,
    p_prefix            text DEFAULT NULL,
    p_actor             text DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_starts_at  timestamptz := coalesce(p_starts_at, v_now);
    v_actor      text := coalesce(p_actor, 'db:' || session_user);
    v_code       text := promo.normalize_code(p_code);
    v_prefix     text;
    v_refusal    text;
    v_pepper     bytea := promo.pepper();
    v_pepper_id  bytea := promo.pepper_id(v_pepper);
    v_previous   bytea := promo.pepper(p_previous => true);
    v_hash       bytea := promo.hmac(v_code, v_pepper);
    v_hash_prev  bytea := promo.hmac(v_code, v_previous);  -- NULL without a rotation
    v_id         bigint;
BEGIN
    -- The checks a batch import makes too (promo.check_campaign_terms, promo.code_refusal), each
    -- called as an expression rather than a PERFORM (a full SPI query): creation is benchmarked.
    v_prefix := promo.check_campaign_terms(p_kind, p_campaign, p_grant_days, p_discount_percent,
        p_max_uses, p_per_user_limit, p_starts_at, p_ends_at, p_prefix, v_actor, v_now);
    v_refusal := promo.code_refusal(v_code, v_prefix,
        upper(regexp_replace(p_campaign, '[^A-Za-z0-9]', '', 'g')));
    IF v_refusal IS NOT NULL THEN
        PERFORM promo.refuse_code(v_refusal);
    END IF;
    -- A code with the pattern of a generated batch code must carry its check character: the
    -- redemption refuses it otherwise, before looking it up (docs/promo.md, "Batch codes").
    IF promo.has_wrong_check_character(v_code) THEN
        PERFORM promo.refuse_code('check_character');
    END IF;
    IF v_previous IS NULL THEN
        PERFORM promo.check_rotation(v_pepper_id);
    END IF;
    -- A code hashed under the previous pepper is the same code (one probe of the unique index).
    IF EXISTS (SELECT FROM promo.promo_codes AS c
               WHERE c.code_hash IN (v_hash, v_hash_prev)) THEN
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'another campaign uses this code (codes are unique for ever, ended campaigns included)',
            HINT = 'Choose another code.';
    END IF;

    BEGIN
        INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, grant_days, discount_percent,
                                       max_uses, per_user_limit, starts_at, ends_at, prefix,
                                       created_at, created_by, updated_at)
        VALUES (btrim(p_campaign), v_hash, v_pepper_id, p_kind, p_grant_days,
                p_discount_percent, p_max_uses, p_per_user_limit, v_starts_at, p_ends_at, v_prefix,
                v_now, v_actor, v_now)
        RETURNING promo_code_id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- the same code created concurrently
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'another campaign uses this code', HINT = 'Choose another code.';
    END;

    INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
    SELECT v_id, c.slot_no, c.capacity FROM promo.slot_capacities(p_max_uses) AS c;

    PERFORM ops.write_audit(v_actor, 'promo.campaign_created', 'promo_code', v_id::text, NULL,
        jsonb_build_object('campaign', btrim(p_campaign), 'kind', p_kind, 'grant_days', p_grant_days,
                           'discount_percent', p_discount_percent, 'max_uses', p_max_uses,
                           'per_user_limit', p_per_user_limit, 'starts_at', v_starts_at,
                           'ends_at', p_ends_at, 'prefix', v_prefix));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION api.create_promo_code(text, text, text, integer, integer, integer, integer, timestamptz, timestamptz, text, text) IS
    'Creates a campaign for one code (stored only as its HMAC); validates every field (SP422; timestamps within ops.timestamp_range()), refuses a code in use (SPDUP), audits; returns promo_code_id.';
