CREATE OR REPLACE FUNCTION billing.book_purchase(p_purchase billing.purchases)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM billing.post_ledger_entry(p_purchase.user_id, 'PURCHASE_PAYMENT', p_purchase.purchase_id,
                                      p_stars => p_purchase.price_stars, p_actor => 'telegram');
    RETURN (billing.post_ledger_entry(p_purchase.user_id, 'PURCHASE_PREMIUM', p_purchase.purchase_id,
                                      p_premium_days => p_purchase.premium_days,
                                      p_actor => 'telegram')).premium_until_after;
END
$$;
COMMENT ON FUNCTION billing.book_purchase(billing.purchases) IS
    'Books a paid purchase in the ledger (PURCHASE_PAYMENT +Stars, PURCHASE_PREMIUM +days); returns the premium_until it leaves.';
