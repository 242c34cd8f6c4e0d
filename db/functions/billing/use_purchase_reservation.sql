CREATE OR REPLACE FUNCTION billing.use_purchase_reservation(
    p_purchase    billing.purchases,
    p_redemption  promo.promo_redemptions,
    p_now         timestamptz
)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- The user was promised this price: the reservation is consumed even if its hold ran out
    -- meanwhile, unless the expiry job already released the unit (then it stays EXPIRED and
    -- operators are told). The unit moves from held to used with the status (promo.book_capacity).
    IF p_redemption.status = 'RESERVED' THEN
        UPDATE promo.promo_redemptions AS r SET status = 'CONSUMED', consumed_at = p_now
        WHERE r.promo_redemption_id = p_redemption.promo_redemption_id;
    ELSIF p_redemption.promo_redemption_id IS NOT NULL THEN
        PERFORM ops.raise_alert('payments.reservation_lost', 'warning',
            format('purchase %s was paid at its discounted price after reservation %s became %s',
                   p_purchase.purchase_id, p_redemption.promo_redemption_id, p_redemption.status),
            jsonb_build_object('purchase_id', p_purchase.purchase_id,
                               'promo_redemption_id', p_redemption.promo_redemption_id,
                               'redemption_status', p_redemption.status),
            'payments.reservation_lost:' || p_purchase.purchase_id);
    END IF;
END
$$;
COMMENT ON FUNCTION billing.use_purchase_reservation(billing.purchases, promo.promo_redemptions, timestamptz) IS
    'Consumes the locked discount reservation of a purchase being paid (RESERVED -> CONSUMED), or alerts payments.reservation_lost when it was released before; nothing without a reservation.';
