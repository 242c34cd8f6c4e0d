-- Advisory locks by class name (ops.lock_class): one list, distinct keys, no magic numbers.
BEGIN;
SELECT plan(6);

SELECT is(
    (SELECT count(DISTINCT ops.lock_class(c)) FROM unnest(ARRAY['ops.idempotency_key',
        'referral.registration']) AS c),
    2::bigint, 'the two lock classes have two different keys');
SELECT is(ops.lock_class('ops.idempotency_key'), hashtext('starpass:ops.idempotency_key'),
          'a class key is derived from its namespaced name');
SELECT throws_ok($$ SELECT ops.lock_class('billing.charge') $$, 'SP500',
                 'unknown lock class ''billing.charge''', 'the classes the idempotency protocol replaced are gone');
SELECT throws_ok($$ SELECT ops.lock_class('promo.redeem_key') $$, 'SP500',
                 'unknown lock class ''promo.redeem_key''', 'redemption keys too');
SELECT throws_ok($$ SELECT ops.lock_class('promo.no_such_class') $$, 'SP500',
                 'unknown lock class ''promo.no_such_class''', 'an unknown class fails rather than lock nothing');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops')
      AND p.prosrc ~ 'pg_advisory(_xact)?_lock\s*\(\s*[0-9]'
$$, 'no function of ours takes an advisory lock by a number');

SELECT * FROM finish();
ROLLBACK;
