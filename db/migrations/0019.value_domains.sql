-- depends: 0018.bot
-- Allowed values stated once: a domain over text per vocabulary (kinds, statuses, outcomes,
-- choices). The columns keep type text and their CHECK casts to the domain; the functions check
-- arguments against the same domain (ops.check_value). Why not columns of the domain type, nor
-- enums: docs/architecture.md, "Allowed values".
CREATE DOMAIN promo.campaign_kind AS text
    CONSTRAINT campaign_kind_check CHECK (VALUE IN ('PREMIUM_GRANT', 'PERCENT_DISCOUNT'));
CREATE DOMAIN promo.campaign_status AS text
    CONSTRAINT campaign_status_check CHECK (VALUE IN ('ACTIVE', 'PAUSED', 'EXPIRED', 'DEPLETED'));
CREATE DOMAIN promo.redemption_status AS text
    CONSTRAINT redemption_status_check
    CHECK (VALUE IN ('APPLIED', 'RESERVED', 'CONSUMED', 'EXPIRED', 'REVOKED'));
CREATE DOMAIN promo.redeem_outcome AS text
    CONSTRAINT redeem_outcome_check
    CHECK (VALUE IN ('APPLIED', 'RESERVED', 'NOT_FOUND', 'NOT_STARTED', 'EXPIRED', 'PAUSED',
                     'DEPLETED', 'ALREADY_REDEEMED', 'THROTTLED', 'INVALID_CODE',
                     'IDEMPOTENCY_CONFLICT'));
CREATE DOMAIN billing.purchase_status AS text
    CONSTRAINT purchase_status_check
    CHECK (VALUE IN ('INIT', 'PRECHECKOUT_OK', 'PAID', 'REFUNDED', 'CANCELLED'));
CREATE DOMAIN billing.payment_outcome AS text
    CONSTRAINT payment_outcome_check
    CHECK (VALUE IN ('PAID', 'MISMATCH', 'UNKNOWN_PURCHASE', 'DUPLICATE'));
CREATE DOMAIN referral.reward_status AS text
    CONSTRAINT reward_status_check CHECK (VALUE IN ('OFFERED', 'CHOSEN', 'CANCELLED'));
CREATE DOMAIN referral.reward_choice AS text
    CONSTRAINT reward_choice_check CHECK (VALUE IN ('PREMIUM_DAYS', 'DISCOUNT'));

COMMENT ON DOMAIN promo.campaign_kind IS 'What a campaign gives: premium days or a purchase discount.';
COMMENT ON DOMAIN promo.campaign_status IS 'A campaign''s stored status (api.get_promo_campaign also derives an effective one).';
COMMENT ON DOMAIN promo.redemption_status IS 'A redemption''s state (promo.guard_redemption_change holds the transitions).';
COMMENT ON DOMAIN promo.redeem_outcome IS 'The outcomes api.redeem_promo_code answers and promo.promo_attempts records.';
COMMENT ON DOMAIN billing.purchase_status IS 'A purchase''s state (billing.guard_purchase_change holds the transitions).';
COMMENT ON DOMAIN billing.payment_outcome IS 'What a confirmed payment settled (billing.payments.outcome).';
COMMENT ON DOMAIN referral.reward_status IS 'A referral reward''s state.';
COMMENT ON DOMAIN referral.reward_choice IS 'What a referrer chose as the reward.';

-- The column CHECKs keep their names; `col = col::domain` is NULL (passes) for a NULL and raises
-- the domain's check_violation for a value the domain does not allow.
ALTER TABLE promo.promo_codes
    DROP CONSTRAINT promo_codes_kind_check,
    ADD CONSTRAINT promo_codes_kind_check CHECK (kind = kind::promo.campaign_kind),
    DROP CONSTRAINT promo_codes_status_check,
    ADD CONSTRAINT promo_codes_status_check CHECK (status = status::promo.campaign_status);
ALTER TABLE promo.promo_redemptions
    DROP CONSTRAINT promo_redemptions_kind_check,
    ADD CONSTRAINT promo_redemptions_kind_check CHECK (kind = kind::promo.campaign_kind),
    DROP CONSTRAINT promo_redemptions_status_check,
    ADD CONSTRAINT promo_redemptions_status_check CHECK (status = status::promo.redemption_status);
ALTER TABLE promo.promo_attempts
    DROP CONSTRAINT promo_attempts_outcome_check,
    ADD CONSTRAINT promo_attempts_outcome_check CHECK (outcome = outcome::promo.redeem_outcome);
ALTER TABLE billing.purchases
    DROP CONSTRAINT purchases_status_check,
    ADD CONSTRAINT purchases_status_check CHECK (status = status::billing.purchase_status);
ALTER TABLE billing.payments
    DROP CONSTRAINT payments_outcome_check,
    ADD CONSTRAINT payments_outcome_check CHECK (outcome = outcome::billing.payment_outcome);
ALTER TABLE referral.rewards
    DROP CONSTRAINT rewards_status_check,
    ADD CONSTRAINT rewards_status_check CHECK (status = status::referral.reward_status),
    DROP CONSTRAINT rewards_choice_check,
    ADD CONSTRAINT rewards_choice_check CHECK (choice = choice::referral.reward_choice);
