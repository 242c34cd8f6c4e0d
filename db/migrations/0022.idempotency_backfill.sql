-- depends: 0022.idempotency
-- Keys used before the protocol keep replaying: each purchase, payment and rollback request
-- becomes the binding of its key, with the hash the functions compute now. The hash is written
-- out here because no function file is applied yet on an upgrade: it is ops.request_hash's
-- (sha256 of the arguments as a jsonb array) and, for a payment, complete_purchase's key (the
-- hex sha256 of the charge id); tests/test_migrate.py replays backfilled keys through the
-- functions, so the two cannot drift apart unnoticed.
INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
SELECT 'billing.init_purchase', p.idempotency_key,
       pg_catalog.sha256(convert_to(jsonb_build_array(p.user_id, p.plan_code, p.promo_redemption_id)::text, 'UTF8')),
       to_jsonb(ROW('OPENED', p.purchase_id, p.invoice_payload, p.price_stars, p.base_price_stars,
                    p.discount_percent, p.currency, pl.title, pl.description, p.premium_days,
                    false)::api.init_purchase_result),
       p.created_at
FROM billing.purchases AS p
JOIN billing.plans AS pl USING (plan_code);

INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
SELECT 'billing.complete_purchase',
       encode(pg_catalog.sha256(convert_to(pm.telegram_payment_charge_id, 'UTF8')), 'hex'),
       pg_catalog.sha256(convert_to(jsonb_build_array(pm.user_id, pm.invoice_payload, pm.currency,
                                                      pm.total_amount)::text, 'UTF8')),
       to_jsonb(jsonb_populate_record(NULL::api.complete_purchase_result,
                                      pm.result || '{"replayed": false}'::jsonb)),
       pm.received_at
FROM billing.payments AS pm;

INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
SELECT 'promo.rollback_refunded_promo', q.idempotency_key,
       pg_catalog.sha256(convert_to(jsonb_build_array(q.purchase_id)::text, 'UTF8')),
       to_jsonb(ROW(q.result->>'outcome', q.purchase_id, (q.result->>'promo_redemption_id')::bigint,
                    false)::api.rollback_refunded_promo_result),
       q.created_at
FROM promo.rollback_requests AS q;

-- The answers now live in ops.idempotency_keys only; billing.payments and
-- promo.rollback_requests stay the business records (what was paid, who asked for a rollback).
ALTER TABLE billing.payments DROP COLUMN result;
ALTER TABLE promo.rollback_requests DROP COLUMN result;
COMMENT ON TABLE promo.rollback_requests IS
    'Who asked api.rollback_refunded_promo for which purchase, by idempotency key (the answer is in ops.idempotency_keys).';
