CREATE OR REPLACE FUNCTION api.greet_user(
    p_user_id        bigint,
    p_username       text DEFAULT NULL,
    p_first_name     text DEFAULT NULL,
    p_language_code  text DEFAULT NULL,
    p_referral_code  text DEFAULT NULL
)
RETURNS TABLE (
    created           boolean,
    referral_outcome  text,
    is_premium        boolean,
    premium_until     timestamptz,
    referral_code     text,
    terms_version     text,
    terms_accepted    boolean,
    plans             jsonb
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user  record;
BEGIN
    -- The bot's /start in one call: the profile as Telegram sends it now, the deep link's
    -- referral, and what the welcome message shows.
    SELECT * INTO v_user FROM api.touch_user(p_user_id, p_username, p_first_name, p_language_code);
    created := v_user.created;
    IF p_referral_code IS NOT NULL THEN
        SELECT r.outcome INTO referral_outcome FROM api.register_referral(p_user_id, p_referral_code) AS r;
    END IF;
    SELECT s.is_premium, s.premium_until INTO is_premium, premium_until
    FROM api.get_premium_status(p_user_id) AS s;
    referral_code := api.get_referral_code(p_user_id);
    SELECT t.terms_version, t.terms_accepted INTO terms_version, terms_accepted
    FROM api.get_terms_status(p_user_id) AS t;
    -- WITH ORDINALITY keeps list_plans' display order (row_number() OVER () does not promise it),
    -- and the objects carry only the plan's fields.
    SELECT coalesce(jsonb_agg(jsonb_build_object('plan_code', l.plan_code, 'title', l.title,
                                                 'premium_days', l.premium_days, 'price_stars', l.price_stars)
                              ORDER BY l.ord), '[]'::jsonb) INTO plans
    FROM api.list_plans() WITH ORDINALITY
         AS l (plan_code, title, description, premium_days, price_stars, currency, is_active, ord);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION api.greet_user(bigint, text, text, text, text) IS
    'The bot''s /start: stores the Telegram profile, registers a deep-link referral (referral_outcome as api.register_referral), and returns premium status, the user''s referral code, whether the current terms are accepted and the plans on sale.';
