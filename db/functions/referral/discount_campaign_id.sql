CREATE OR REPLACE FUNCTION referral.discount_campaign_id()
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- The code-less campaign migration 0008 created for DISCOUNT rewards.
    RETURN (SELECT c.promo_code_id FROM promo.promo_codes AS c
            WHERE c.pepper_id = '\x0000000000000000' AND c.campaign = 'Referral reward: personal discount');
END
$$;
COMMENT ON FUNCTION referral.discount_campaign_id() IS
    'The campaign whose reservations are the personal DISCOUNT referral rewards.';
