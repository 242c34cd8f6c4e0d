CREATE OR REPLACE FUNCTION referral.discount_campaign_id()
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- The code-less campaign migration 0008 created for DISCOUNT rewards (there is one: a
    -- unique partial index on promo_codes.internal).
    RETURN (SELECT c.promo_code_id FROM promo.promo_codes AS c WHERE c.internal);
END
$$;
COMMENT ON FUNCTION referral.discount_campaign_id() IS
    'The campaign whose reservations are the personal DISCOUNT referral rewards.';
