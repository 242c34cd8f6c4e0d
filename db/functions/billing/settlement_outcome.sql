CREATE OR REPLACE FUNCTION billing.settlement_outcome(
    p_purchase      billing.purchases,
    p_user_id       bigint,
    p_currency      text,
    p_total_amount  bigint
)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN CASE
        WHEN p_purchase.purchase_id IS NULL THEN 'UNKNOWN_PURCHASE'
        WHEN p_purchase.status IN ('PAID', 'REFUNDED') THEN 'DUPLICATE'
        -- A cancelled purchase paid late whose discount another purchase has used meanwhile:
        -- the discount would be paid twice.
        WHEN EXISTS (SELECT FROM billing.purchases AS p
                     WHERE p.promo_redemption_id = p_purchase.promo_redemption_id
                       AND p.status IN ('PAID', 'REFUNDED') AND p.purchase_id <> p_purchase.purchase_id)
            THEN 'DUPLICATE'
        WHEN p_purchase.user_id <> p_user_id OR p_currency <> p_purchase.currency
             OR p_total_amount <> p_purchase.price_stars THEN 'MISMATCH'
        ELSE 'PAID'
    END;
END
$$;
COMMENT ON FUNCTION billing.settlement_outcome(billing.purchases, bigint, text, bigint) IS
    'What a confirmed payment settles, decided from its locked purchase (NULL row: none): PAID, DUPLICATE, MISMATCH or UNKNOWN_PURCHASE. Changes nothing.';
