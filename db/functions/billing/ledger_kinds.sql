CREATE OR REPLACE FUNCTION billing.ledger_kinds()
RETURNS SETOF billing.ledger_kind
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- The one list of ledger kinds. Signs: 1 credit, -1 debit, 0 never, NULL either way.
    VALUES ('PURCHASE_PAYMENT', 'purchase', 1::smallint, 0::smallint, 'Stars received for a purchase.'),
           ('PURCHASE_PREMIUM', 'purchase', 0, 1, 'Premium days granted for a paid purchase.'),
           ('REFUND_PAYMENT', 'purchase', -1, 0, 'Stars returned to the user by a refund.'),
           ('REFUND_PREMIUM', 'purchase', 0, -1, 'Premium days removed by a refund.'),
           ('PROMO_PREMIUM', 'promo_redemption', 0, 1, 'Premium days granted by a PREMIUM_GRANT promo code.'),
           ('REFERRAL_PREMIUM', 'referral_reward', 0, 1, 'Premium days granted as a referral reward.'),
           ('ADMIN_ADJUSTMENT', 'audit_log', 0, NULL, 'Manual correction by an operator; the audit row says why.')
$$;
COMMENT ON FUNCTION billing.ledger_kinds() IS
    'Ledger entry kinds: the type of object that causes each and the sign each delta may have.';
