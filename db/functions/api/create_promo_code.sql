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
    v_prefix     text := promo.normalize_code_or_null(p_prefix);
    v_pepper     bytea := promo.pepper();
    v_pepper_id  bytea := promo.pepper_id(v_pepper);
    v_previous   bytea := promo.pepper(p_previous => true);
    v_hash       bytea := promo.hmac(v_code, v_pepper);
    v_hash_prev  bytea := promo.hmac(v_code, v_previous);  -- NULL without a rotation
    v_pepper_min bytea;
    v_pepper_max bytea;
    v_slots      integer;
    v_id         bigint;
BEGIN
    -- Each check as a plain IF: a PERFORM is a full SPI query, and its DETAIL is formatted,
    -- even when the check passes (create_promo_code is benchmarked: docs/benchmarks.md).
    IF (char_length(v_code) >= 4) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_code',
            'a code needs at least 4 letters or digits', 'Short codes are guessed; use 8 or more.');
    END IF;
    PERFORM ops.check_value(p_kind, 'promo.campaign_kind', 'p_kind');
    IF (char_length(btrim(p_campaign)) BETWEEN 1 AND 100) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_campaign',
            'the campaign name is 1 to 100 characters', NULL);
    END IF;
    IF (CASE p_kind WHEN 'PREMIUM_GRANT' THEN p_grant_days BETWEEN 1 AND 3660 ELSE p_grant_days IS NULL END) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_grant_days', format('%s needs %s', p_kind,
                CASE p_kind WHEN 'PREMIUM_GRANT' THEN 'grant_days from 1 to 3660' ELSE 'no grant_days' END),
            NULL);
    END IF;
    IF (CASE p_kind WHEN 'PERCENT_DISCOUNT' THEN p_discount_percent BETWEEN 1 AND 99 ELSE p_discount_percent IS NULL END) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_discount_percent', format('%s needs %s', p_kind,
                CASE p_kind WHEN 'PERCENT_DISCOUNT' THEN 'discount_percent from 1 to 99' ELSE 'no discount_percent' END),
            NULL);
    END IF;
    IF (p_max_uses IS NULL OR p_max_uses BETWEEN 1 AND 10000000) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_max_uses',
            format('max_uses %s is outside 1 to 10000000', p_max_uses), 'NULL means unlimited.');
    END IF;
    IF (p_per_user_limit BETWEEN 1 AND least(1000, coalesce(p_max_uses, 1000))) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_per_user_limit', format('per_user_limit %s is outside 1 to min(1000, max_uses)', p_per_user_limit),
            NULL);
    END IF;
    IF p_starts_at IS NOT NULL THEN
        PERFORM ops.check_timestamp(p_starts_at, 'p_starts_at');
    END IF;
    IF p_ends_at IS NOT NULL THEN
        PERFORM ops.check_timestamp(p_ends_at, 'p_ends_at');
    END IF;
    IF (p_ends_at IS NULL OR (p_ends_at > v_starts_at AND p_ends_at > v_now)) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_ends_at', format('ends_at %s must lie after starts_at %s and in the future', p_ends_at, v_starts_at),
            NULL);
    END IF;
    -- The prefix is public: at least 4 secret characters must follow it.
    IF (p_prefix IS NULL OR (char_length(v_prefix) BETWEEN 2 AND 16
                                                    AND starts_with(v_code, v_prefix)
                                                    AND char_length(v_code) >= char_length(v_prefix) + 4)) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_prefix', 'a prefix is 2 to 16 letters or digits that the code starts with, followed by at least 4 more',
            NULL);
    END IF;
    IF (char_length(v_actor) BETWEEN 1 AND 128) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_actor',
            'the actor is 1 to 128 characters', NULL);
    END IF;

    IF (strpos(upper(regexp_replace(p_campaign, '[^A-Za-z0-9]', '', 'g')), v_code) = 0) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_campaign',
            'the campaign name must not contain the code (names are stored, audited and shown)', NULL);
    END IF;
    -- During a rotation a code may exist under the previous pepper: without it this check
    -- would miss it, so creation waits for the previous pepper to be configured. The rotation
    -- is over when no live campaign carries another pepper (docs/promo.md): ended campaigns
    -- under a dropped pepper can never be redeemed, so they do not hold creation up. The
    -- smallest and largest live fingerprint are two index probes, however many campaigns exist.
    IF v_previous IS NULL THEN
        -- (No parameters: a generic plan cannot turn these into scans. bytea has no min/max.)
        v_pepper_min := (SELECT c.pepper_id FROM promo.promo_codes AS c
                         WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                         ORDER BY c.pepper_id LIMIT 1);
        v_pepper_max := (SELECT c.pepper_id FROM promo.promo_codes AS c
                         WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                         ORDER BY c.pepper_id DESC LIMIT 1);
        IF v_pepper_min <> v_pepper_id OR v_pepper_max <> v_pepper_id THEN
            RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_previous_not_set', MESSAGE = 'promo.pepper_previous is not set',
                DETAIL = 'campaigns hashed with another pepper exist (a rotation is under way)',
                HINT = 'Set PROMO_SECRET_PEPPER_PREVIOUS to the pepper used before the rotation.';
        END IF;
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

    -- Spread capacity evenly; slot i gets one extra unit while the remainder lasts.
    v_slots := least(ops.setting_integer('promo.capacity_slots'), coalesce(p_max_uses, 2147483647));
    INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
    SELECT v_id, i, p_max_uses / v_slots + CASE WHEN i < p_max_uses % v_slots THEN 1 ELSE 0 END
    FROM generate_series(0, v_slots - 1) AS i;

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
