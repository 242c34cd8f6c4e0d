-- depends: 0022.idempotency_backfill 0023.redemption_locks
-- api.redeem_promo_code joins the one idempotency protocol: its bindings move from the attempt
-- log to ops.idempotency_keys (scope promo.redeem). The request a key binds is the user and the
-- code (its peppered HMAC, as stored on the attempt); the hash is ops.request_hash's, written
-- out because no function file is applied yet on an upgrade (tests/test_migrate.py replays a
-- backfilled key through the function).
INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
SELECT 'promo.redeem', a.idempotency_key,
       pg_catalog.sha256(convert_to(jsonb_build_array(a.user_id, encode(a.request_hash, 'hex'))::text, 'UTF8')),
       a.result, a.created_at
FROM promo.promo_attempts AS a
WHERE a.binding;

-- The attempt log stays the log (binding marks the attempt that answered first); the answer and
-- the key's uniqueness live in ops.idempotency_keys. One index fewer on every attempt.
DROP INDEX promo.promo_attempts_key_idx;
ALTER TABLE promo.promo_attempts DROP CONSTRAINT promo_attempts_result_when_binding;
ALTER TABLE promo.promo_attempts DROP COLUMN result;
ALTER TABLE promo.promo_attempts DROP CONSTRAINT promo_attempts_idempotency_key_check;
ALTER TABLE promo.promo_attempts ALTER COLUMN idempotency_key TYPE ops.idempotency_key;
COMMENT ON TABLE promo.promo_attempts IS
    'Every redemption attempt (never the code). binding marks the attempt that first answered its key (the answer is in ops.idempotency_keys); counted rows feed the throttle.';
