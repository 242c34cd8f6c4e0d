CREATE OR REPLACE FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint)
RETURNS TABLE (
    plan_code         text,
    title             text,
    premium_days      integer,
    base_price_stars  integer,
    price_stars       integer,
    discount_percent  integer,
    reserved_until    timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- Every plan at the price api.init_purchase would fix with this reservation now; no rows
    -- when the reservation is not the user's live discount.
    RETURN QUERY
    SELECT pl.plan_code, pl.title, pl.premium_days, pl.price_stars,
           billing.discount_price(pl.price_stars, c.discount_percent), c.discount_percent, r.reserved_until
    FROM promo.promo_redemptions AS r
    JOIN promo.promo_codes AS c USING (promo_code_id)
    CROSS JOIN billing.plans AS pl
    WHERE r.promo_redemption_id = p_promo_redemption_id AND r.user_id = p_user_id
      AND r.kind = 'PERCENT_DISCOUNT' AND r.status = 'RESERVED' AND r.reserved_until > v_now
      AND pl.is_active
    ORDER BY pl.sort_order, pl.plan_code;
END
$$;
COMMENT ON FUNCTION api.quote_discount(bigint, bigint) IS
    'The plans on sale at the price a user''s live discount reservation gives them (the discount CTA); no rows when the reservation is not live or not theirs.';
