CREATE OR REPLACE FUNCTION promo.check_campaign_terms(
    p_kind              text,
    p_campaign          text,
    p_grant_days        integer,
    p_discount_percent  integer,
    p_max_uses          integer,
    p_per_user_limit    integer,
    p_starts_at         timestamptz,
    p_ends_at           timestamptz,
    p_prefix            text,
    p_actor             text,
    p_now               timestamptz
)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_starts_at  timestamptz := coalesce(p_starts_at, p_now);
    v_prefix     text := promo.normalize_code_or_null(p_prefix);
BEGIN
    -- Each check as a plain IF: a PERFORM is a full SPI query, and its DETAIL is formatted,
    -- even when the check passes (api.create_promo_code is benchmarked: docs/benchmarks.md).
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
    IF (p_ends_at IS NULL OR (p_ends_at > v_starts_at AND p_ends_at > p_now)) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_ends_at', format('ends_at %s must lie after starts_at %s and in the future', p_ends_at, v_starts_at),
            NULL);
    END IF;
    -- The prefix is public; that a code starts with it is the code's check (promo.code_refusal).
    IF (p_prefix IS NULL OR char_length(v_prefix) BETWEEN 2 AND 16) IS NOT TRUE THEN
        PERFORM promo.refuse_code('prefix_mismatch');
    END IF;
    IF (char_length(p_actor) BETWEEN 1 AND 128) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_actor',
            'the actor is 1 to 128 characters', NULL);
    END IF;
    RETURN v_prefix;
END
$$;
COMMENT ON FUNCTION promo.check_campaign_terms(text, text, integer, integer, integer, integer, timestamptz, timestamptz, text, text, timestamptz) IS
    'The checks of a campaign''s terms, shared by api.create_promo_code and api.import_promo_codes (SP422 invalid_argument for the first that fails); returns the normalized prefix.';
