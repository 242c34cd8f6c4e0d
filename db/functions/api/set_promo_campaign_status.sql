CREATE OR REPLACE FUNCTION api.set_promo_campaign_status(
    p_promo_code_id  bigint,
    p_status         text,
    p_actor          text,
    p_reason         text DEFAULT NULL
)
RETURNS TABLE (
    promo_code_id  bigint,
    status         text,
    changed        boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_campaign  promo.promo_codes;
BEGIN
    PERFORM ops.check_argument(p_status IN ('ACTIVE', 'PAUSED'), 'p_status',
        format('%L is not a status an operator sets', p_status), 'Set ACTIVE or PAUSED.');
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(p_status = 'ACTIVE' OR char_length(btrim(p_reason)) BETWEEN 1 AND 200,
        'p_reason', 'a pause needs a reason of 1 to 200 characters', NULL);
    -- Writes the campaign row only, never its capacity slots: a redemption that read ACTIVE
    -- before this commits is ordered before it (see docs/promo.md).
    SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.promo_code_id = p_promo_code_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'campaign_not_found', MESSAGE = 'promo campaign not found',
            DETAIL = format('no campaign with id %s', p_promo_code_id);
    END IF;
    IF v_campaign.internal THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_internal', MESSAGE = 'campaign is internal',
            DETAIL = format('campaign %s holds the DISCOUNT referral rewards; it has no code to pause',
                            p_promo_code_id),
            HINT = 'Referral rewards are governed by the referral settings, not by a campaign status.';
    END IF;
    IF v_campaign.status = p_status THEN
        RETURN QUERY SELECT p_promo_code_id, p_status, false;  -- no change, no audit noise
        RETURN;
    END IF;
    IF v_campaign.status IN ('EXPIRED', 'DEPLETED') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_ended', MESSAGE = 'campaign has ended',
            DETAIL = format('campaign %s is %s', p_promo_code_id, v_campaign.status),
            HINT = 'An ended campaign cannot be paused or resumed; create a new one.';
    END IF;
    IF p_status = 'ACTIVE' AND v_campaign.ends_at <= v_now THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_past_end', MESSAGE = 'campaign is past its end',
            DETAIL = format('campaign %s ended at %s', p_promo_code_id, v_campaign.ends_at);
    END IF;

    UPDATE promo.promo_codes AS c
    SET status = p_status,
        paused_at = CASE WHEN p_status = 'PAUSED' THEN v_now END,
        paused_reason = CASE WHEN p_status = 'PAUSED' THEN btrim(p_reason) END,
        -- Attempts before a resume do not make the guard pause it again.
        guard_counting_since = CASE WHEN p_status = 'ACTIVE' THEN v_now ELSE c.guard_counting_since END,
        updated_at = v_now
    WHERE c.promo_code_id = p_promo_code_id;
    PERFORM ops.write_audit(p_actor, CASE p_status WHEN 'PAUSED' THEN 'promo.campaign_paused'
                                                   ELSE 'promo.campaign_resumed' END,
                            'promo_code', p_promo_code_id::text, p_reason,
                            jsonb_build_object('from', v_campaign.status, 'to', p_status));
    IF p_status = 'ACTIVE' AND v_campaign.paused_reason = 'BRUTE_FORCE_GUARD' THEN
        -- The guard's incident is over: its alert is resolved (PagerDuty closes the incident).
        PERFORM ops.resolve_alert('promo.campaign_autopaused', jsonb_build_object('promo_code_id', p_promo_code_id),
            format('campaign %s resumed by %s after the brute-force guard paused it', p_promo_code_id, p_actor));
    END IF;
    RETURN QUERY SELECT p_promo_code_id, p_status, true;
END
$$;
COMMENT ON FUNCTION api.set_promo_campaign_status(bigint, text, text, text) IS
    'Operator pause/resume (ACTIVE <-> PAUSED only, audited; resuming a campaign the brute-force guard paused resolves its alert); the same status again changes nothing; SP409 for an ended campaign or a resume past ends_at.';
