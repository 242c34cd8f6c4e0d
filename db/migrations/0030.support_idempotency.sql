-- depends: 0027.hot_path_costs
-- api.open_payment_support joins the one idempotency protocol (issue 15): its keys are bound in
-- ops.idempotency_keys under the scope billing.open_payment_support, it answers a key of
-- another user's request as the outcome IDEMPOTENCY_CONFLICT (was SP409 idempotency_conflict)
-- and replays the stored answer whole.
-- The scope's CHECK is replaced in one statement: as two statements run by yoyo, the migration
-- failed on a fresh database with "cannot start a subtransaction when there are unprocessed
-- inval messages".
DO $$
BEGIN
    ALTER DOMAIN ops.idempotency_scope DROP CONSTRAINT idempotency_scope_check;
    ALTER DOMAIN ops.idempotency_scope ADD CONSTRAINT idempotency_scope_check
        CHECK (VALUE IN ('promo.redeem', 'billing.init_purchase', 'billing.complete_purchase',
                         'promo.rollback_refunded_promo', 'billing.open_payment_support'));
END
$$;

CREATE TYPE api.open_payment_support_result AS (
    outcome             text,
    support_request_id  bigint,
    created_at          timestamptz,
    replayed            boolean
);
COMMENT ON TYPE api.open_payment_support_result IS
    'The answer of api.open_payment_support: OPENED (the ticket) or IDEMPOTENCY_CONFLICT.';

-- The result type changes (RETURNS TABLE -> the composite); the function file creates it anew.
DROP FUNCTION IF EXISTS api.open_payment_support(bigint, text, text);

-- Keys used before keep replaying: each request becomes the binding of its key, with the hash
-- the function computes now (ops.request_hash of the user id, written out as in
-- 0022.idempotency_backfill; tests/test_migrate.py replays a backfilled key).
INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
SELECT 'billing.open_payment_support', s.idempotency_key,
       pg_catalog.sha256(convert_to(jsonb_build_array(s.user_id)::text, 'UTF8')),
       to_jsonb(ROW('OPENED', s.support_request_id, s.created_at, false)::api.open_payment_support_result),
       s.created_at
FROM billing.support_requests AS s;
