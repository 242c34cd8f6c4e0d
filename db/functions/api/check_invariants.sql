CREATE OR REPLACE FUNCTION api.check_invariants()
RETURNS TABLE (
    invariant  text,
    subject    text,
    detail     text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT l.*, lag(l.premium_until_after) OVER (PARTITION BY l.user_id ORDER BY l.ledger_id)
                        AS previous_after,
                    row_number() OVER (PARTITION BY l.user_id ORDER BY l.ledger_id DESC) AS from_end
        FROM billing.ledger AS l
    )
    -- Each entry starts where the user's previous one ended.
    SELECT 'ledger_chain', 'user ' || c.user_id,
           format('ledger %s starts at %s, the previous entry ended at %s',
                  c.ledger_id, c.premium_until_before, c.previous_after)
    FROM chain AS c
    WHERE c.premium_until_before IS DISTINCT FROM c.previous_after
    UNION ALL
    -- Each entry's result is its own arithmetic.
    SELECT 'ledger_arithmetic', 'user ' || c.user_id,
           format('ledger %s: %s %s days at %s gives %s, not %s', c.ledger_id,
                  c.premium_until_before, c.premium_days_delta, c.created_at,
                  billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at),
                  c.premium_until_after)
    FROM chain AS c
    WHERE c.premium_until_after IS DISTINCT FROM
          billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at)
    UNION ALL
    -- Each entry has a known kind (with its ref_type) and the signs that kind allows.
    SELECT 'ledger_kind_sign', 'user ' || c.user_id,
           format('ledger %s: %s with %s Stars and %s days', c.ledger_id, c.kind,
                  c.stars_delta, c.premium_days_delta)
    FROM chain AS c
    LEFT JOIN billing.ledger_kinds() AS k USING (kind, ref_type)
    WHERE k.kind IS NULL
       OR sign(c.stars_delta) NOT IN (0, coalesce(k.stars_sign, sign(c.stars_delta)))
       OR sign(c.premium_days_delta) NOT IN (0, coalesce(k.days_sign, sign(c.premium_days_delta)))
    UNION ALL
    -- premium_until is where the user's last ledger entry left it (and nothing without one).
    SELECT 'premium_until_matches_ledger', 'user ' || coalesce(e.user_id, c.user_id),
           format('entitlement says %s, ledger says %s',
                  CASE WHEN e.user_id IS NULL THEN 'no row' ELSE coalesce(e.premium_until::text, 'never') END,
                  CASE WHEN c.user_id IS NULL THEN 'no entries' ELSE coalesce(c.premium_until_after::text, 'never') END)
    FROM billing.entitlements AS e
    FULL JOIN (SELECT * FROM chain WHERE from_end = 1) AS c ON c.user_id = e.user_id
    WHERE e.user_id IS NULL OR c.user_id IS NULL
       OR e.premium_until IS DISTINCT FROM c.premium_until_after
    UNION ALL
    -- Capacity: APPLIED + CONSUMED + live RESERVED never exceed max_uses, and the slots hold
    -- exactly max_uses.
    SELECT 'promo_capacity', 'promo_code ' || pc.promo_code_id,
           format('max_uses %s, slots hold %s, applied+consumed+live reserved %s',
                  pc.max_uses, sl.capacity, rd.taken)
    FROM promo.promo_codes AS pc
    CROSS JOIN LATERAL (SELECT sum(s.capacity) AS capacity FROM promo.capacity_slots AS s
                        WHERE s.promo_code_id = pc.promo_code_id) AS sl
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE r.status IN ('APPLIED', 'CONSUMED')
                                                   OR (r.status = 'RESERVED' AND r.reserved_until > ops.now()))
                               AS taken
                        FROM promo.promo_redemptions AS r WHERE r.promo_code_id = pc.promo_code_id) AS rd
    WHERE pc.max_uses IS NOT NULL AND (rd.taken > pc.max_uses OR sl.capacity IS DISTINCT FROM pc.max_uses)
    UNION ALL
    -- Slot counters are the redemptions they stand for: used (= used_total, summed) counts
    -- APPLIED, CONSUMED and REVOKED (revocation never gives a unit back); held counts RESERVED.
    SELECT 'promo_slot_counts', format('promo_code %s slot %s', s.promo_code_id, s.slot_no),
           format('used %s held %s, redemptions say %s and %s', s.used, s.held,
                  coalesce(r.used, 0), coalesce(r.held, 0))
    FROM promo.capacity_slots AS s
    LEFT JOIN (SELECT x.promo_code_id, x.slot_no,
                      sum(promo.units_used(x.status)) AS used,
                      sum(promo.units_held(x.status)) AS held
               FROM promo.promo_redemptions AS x GROUP BY x.promo_code_id, x.slot_no) AS r
           USING (promo_code_id, slot_no)
    WHERE s.used <> coalesce(r.used, 0) OR s.held <> coalesce(r.held, 0)
    UNION ALL
    -- Idempotency: every redemption is the binding answer to a key of its own user and campaign,
    -- and no answer points at another user's or campaign's redemption.
    SELECT 'promo_idempotency', 'redemption ' || r.promo_redemption_id,
           'no binding attempt of its user and campaign answers with it'
    FROM promo.promo_redemptions AS r
    WHERE NOT EXISTS (SELECT FROM promo.promo_attempts AS a
                      WHERE a.binding AND a.promo_redemption_id = r.promo_redemption_id
                        AND a.user_id = r.user_id AND a.promo_code_id = r.promo_code_id)
      -- DISCOUNT referral rewards are reservations made by api.choose_referral_reward.
      AND NOT EXISTS (SELECT FROM referral.rewards AS rw
                      WHERE rw.promo_redemption_id = r.promo_redemption_id AND rw.referrer_user_id = r.user_id)
    UNION ALL
    SELECT 'promo_idempotency', 'attempt ' || a.attempt_id,
           format('answers with redemption %s of user %s', r.promo_redemption_id, r.user_id)
    FROM promo.promo_attempts AS a
    JOIN promo.promo_redemptions AS r USING (promo_redemption_id)
    WHERE a.user_id <> r.user_id OR a.promo_code_id <> r.promo_code_id
    UNION ALL
    -- Every premium grant (APPLIED, or REVOKED later) was booked once, with its days.
    SELECT 'promo_grant_booked', 'redemption ' || r.promo_redemption_id,
           format('no PROMO_PREMIUM ledger entry of %s days for user %s', pc.grant_days, r.user_id)
    FROM promo.promo_redemptions AS r
    JOIN promo.promo_codes AS pc USING (promo_code_id)
    WHERE r.kind = 'PREMIUM_GRANT'
      AND NOT EXISTS (SELECT FROM billing.ledger AS l
                      WHERE l.kind = 'PROMO_PREMIUM' AND l.ref_id = r.promo_redemption_id
                        AND l.user_id = r.user_id AND l.premium_days_delta = pc.grant_days)
    UNION ALL
    -- A purchase's ledger rows are exactly what its status says: PAID books the Stars and the
    -- days, REFUNDED also their debits, any other status nothing.
    SELECT 'purchase_ledger', 'purchase ' || p.purchase_id,
           format('%s purchase has ledger rows %s', p.status, coalesce(l.kinds, '{}'))
    FROM billing.purchases AS p
    LEFT JOIN LATERAL (
        SELECT array_agg(format('%s:%s:%s', x.kind, x.stars_delta, x.premium_days_delta) ORDER BY x.kind)::text AS kinds
        FROM billing.ledger AS x
        WHERE x.ref_type = 'purchase' AND x.ref_id = p.purchase_id AND x.user_id = p.user_id
    ) AS l ON true
    WHERE coalesce(l.kinds, '{}') <> CASE p.status
        WHEN 'PAID' THEN format('{PURCHASE_PAYMENT:%s:0,PURCHASE_PREMIUM:0:%s}', p.price_stars, p.premium_days)
        WHEN 'REFUNDED' THEN format('{PURCHASE_PAYMENT:%s:0,PURCHASE_PREMIUM:0:%s,REFUND_PAYMENT:%s:0,REFUND_PREMIUM:0:%s}',
                                    p.price_stars, p.premium_days, -p.price_stars, -p.premium_days)
        ELSE '{}' END
    UNION ALL
    -- A consumed (or later revoked) reservation was paid for by exactly one purchase.
    SELECT 'redemption_paid_once', 'redemption ' || r.promo_redemption_id,
           format('%s PAID/REFUNDED purchases', count(p.purchase_id))
    FROM promo.promo_redemptions AS r
    LEFT JOIN billing.purchases AS p
           ON p.promo_redemption_id = r.promo_redemption_id AND p.status IN ('PAID', 'REFUNDED')
    WHERE r.status = 'CONSUMED' OR (r.status = 'REVOKED' AND r.kind = 'PERCENT_DISCOUNT')
    GROUP BY r.promo_redemption_id
    HAVING count(p.purchase_id) <> 1
    UNION ALL
    -- Never lost, never twice: a PAID/REFUNDED purchase has exactly one PAID payment, with its
    -- charge id, and every PAID payment settled exactly such a purchase.
    SELECT 'purchase_paid_once', 'purchase ' || p.purchase_id,
           format('%s PAID payments with its charge id', count(pm.payment_id))
    FROM billing.purchases AS p
    LEFT JOIN billing.payments AS pm
           ON pm.purchase_id = p.purchase_id AND pm.outcome = 'PAID'
          AND pm.telegram_payment_charge_id = p.telegram_payment_charge_id
    WHERE p.status IN ('PAID', 'REFUNDED')
    GROUP BY p.purchase_id
    HAVING count(pm.payment_id) <> 1
    UNION ALL
    SELECT 'payment_settled_purchase', 'payment ' || pm.payment_id, 'a PAID payment without its paid purchase'
    FROM billing.payments AS pm
    WHERE pm.outcome = 'PAID'
      AND NOT EXISTS (SELECT FROM billing.purchases AS p
                      WHERE p.purchase_id = pm.purchase_id AND p.status IN ('PAID', 'REFUNDED')
                        AND p.telegram_payment_charge_id = pm.telegram_payment_charge_id)
    UNION ALL
    -- No reward without a paid purchase of the referee, referred by this referrer.
    SELECT 'reward_has_paid_referee', 'reward ' || rw.referral_reward_id, 'no matching paid purchase or referral'
    FROM referral.rewards AS rw
    WHERE NOT EXISTS (SELECT FROM billing.purchases AS p
                      WHERE p.purchase_id = rw.purchase_id AND p.user_id = rw.referee_user_id
                        AND p.status IN ('PAID', 'REFUNDED'))
       OR NOT EXISTS (SELECT FROM referral.referrals AS rf
                      WHERE rf.referee_user_id = rw.referee_user_id
                        AND rf.referrer_user_id = rw.referrer_user_id)
$$;
COMMENT ON FUNCTION api.check_invariants() IS
    'One row per violated invariant (empty when all hold). Tests call it after every scenario; operators after repairs.';
