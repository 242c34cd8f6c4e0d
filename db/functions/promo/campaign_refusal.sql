CREATE OR REPLACE FUNCTION promo.campaign_refusal(p_campaign promo.promo_codes, p_now timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    -- In the order the outcomes are documented; time decides EXPIRED even before the rollover
    -- job has updated the status.
    SELECT CASE
        WHEN p_now < p_campaign.starts_at THEN 'NOT_STARTED'
        WHEN p_campaign.status = 'EXPIRED' OR p_campaign.ends_at <= p_now THEN 'EXPIRED'
        WHEN p_campaign.status = 'PAUSED' THEN 'PAUSED'
        WHEN p_campaign.status = 'DEPLETED' THEN 'DEPLETED'
    END
$$;
COMMENT ON FUNCTION promo.campaign_refusal(promo.promo_codes, timestamptz) IS
    'Why a campaign cannot be redeemed at p_now (NOT_STARTED, EXPIRED, PAUSED, DEPLETED), or NULL.';
