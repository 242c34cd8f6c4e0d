-- The idempotency protocol: the key domain, ops.find_idempotent / ops.save_idempotent (every
-- answer and refusal), ops.request_hash, the append-only store, and what the protocol's
-- functions store (the result row whole, under a digest key for a charge id).
BEGIN;
SELECT plan(43);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-07-01 00:00:00+00';

-- 'SQLSTATE reason | message | hint' of the error a statement raises (nothing is written).
CREATE FUNCTION pg_temp.refusal(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state    text;
    v_reason   text;
    v_message  text;
    v_hint     text;
BEGIN
    EXECUTE p_sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_reason = CONSTRAINT_NAME,
                            v_message = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    RETURN concat_ws(' | ', v_state || ' ' || coalesce(nullif(v_reason, ''), '(no reason)'), v_message,
                     nullif(v_hint, ''));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The key: one domain, one rule.
SELECT results_eq(
    $$ SELECT k, ops.is_idempotency_key(k) FROM (VALUES (1, 'abcdefgh'), (2, repeat('k', 128)),
              (3, 'A-Z.a_z:0-9'), (4, 'abcdefg'), (5, repeat('k', 129)), (6, 'key with spaces'),
              (7, 'schlüssel-1'), (8, E'abcdefgh\n'), (9, NULL)) AS v (n, k) ORDER BY n $$,
    $$ VALUES ('abcdefgh', true), (repeat('k', 128), true), ('A-Z.a_z:0-9', true), ('abcdefg', false),
              (repeat('k', 129), false), ('key with spaces', false), ('schlüssel-1', false),
              (E'abcdefgh\n', false), (NULL, NULL::boolean) $$,
    'a key is 8 to 128 characters of A-Z a-z 0-9 . _ : -');
SELECT throws_ok($$ SELECT 'short'::ops.idempotency_key $$, '23514', NULL, 'the domain refuses a bad key');
SELECT results_eq(
    $$ SELECT a.attrelid::regclass::text, a.atttypid::regtype::text
       FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid AND c.relkind = 'r'
       WHERE a.attname = 'idempotency_key' AND NOT a.attisdropped
         AND c.relnamespace::regnamespace::text IN ('billing', 'promo', 'ops') AND c.relname <> 'promo_attempts'
       ORDER BY 1 $$,
    $$ VALUES ('billing.purchases', 'ops.idempotency_key'), ('billing.support_requests', 'ops.idempotency_key'),
              ('ops.idempotency_keys', 'ops.idempotency_key'), ('promo.rollback_requests', 'ops.idempotency_key') $$,
    'every column that holds keys is of the domain');
SELECT is_empty(
    $$ SELECT conrelid::regclass::text, conname FROM pg_constraint
       WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%A-Za-z0-9._:-%'
         AND conrelid <> 'promo.promo_attempts'::regclass $$,
    'no table CHECK repeats the key''s regex');
SELECT is(ops.domain_values('ops.idempotency_scope'),
          ARRAY['promo.redeem', 'billing.init_purchase', 'billing.complete_purchase', 'promo.rollback_refunded_promo',
                'billing.open_payment_support'],
          'the five scopes');

-- ---------------------------------------------------------------------------------------------
-- ops.request_hash: equal arguments, equal hash; anything else differs.
SELECT is(octet_length(ops.request_hash(jsonb_build_array(1::bigint, 'premium_30d', NULL::bigint))), 32,
          'a request hash is a sha256 (32 bytes)');
SELECT is(ops.request_hash(jsonb_build_array(7::bigint, 'a')), ops.request_hash(jsonb_build_array(7::integer, 'a')),
          'equal arguments hash equal');
SELECT is((SELECT count(DISTINCT ops.request_hash(a)) FROM (VALUES
              (jsonb_build_array(7, 'a', NULL)), (jsonb_build_array(7, 'a', 0)), (jsonb_build_array(7, 'a')),
              (jsonb_build_array('7', 'a', NULL)), (jsonb_build_array(7, 'a,', NULL)), (jsonb_build_array(7, 'A', NULL)),
              (jsonb_build_array(7, NULL, 'a'))) AS v (a)), 7::bigint,
          'NULL, 0, a missing argument, a number as text, another or moved value: each hashes differently');

-- ---------------------------------------------------------------------------------------------
-- ops.find_idempotent / ops.save_idempotent
CREATE TEMP TABLE h AS SELECT ops.request_hash('["first"]') AS first, ops.request_hash('["alt"]') AS alt,
                              ops.request_hash('["other"]') AS other;
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('promo.redeem', 'key-protocol-1', (SELECT first FROM h))).* $$,
    $$ VALUES (false, NULL::jsonb) $$,
    'a new key: no conflict, no result');
SELECT ok(EXISTS (SELECT FROM pg_locks AS l
                  WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 2 AND l.granted
                    AND l.classid::bigint = ops.lock_class('ops.idempotency_key')::bigint & 4294967295
                    AND l.objid::bigint = hashtext('promo.redeem:key-protocol-1')::bigint & 4294967295),
          'find takes the advisory lock of class ops.idempotency_key on scope:key');
SELECT lives_ok($$ SELECT ops.save_idempotent('promo.redeem', 'key-protocol-1', (SELECT first FROM h),
                                              '{"outcome": "APPLIED", "replayed": false}') $$,
                'save binds the key');
SELECT results_eq(
    $$ SELECT scope, idempotency_key::text, request_hash, result, created_at FROM ops.idempotency_keys
       WHERE idempotency_key = 'key-protocol-1' $$,
    $$ SELECT 'promo.redeem', 'key-protocol-1', first, '{"outcome": "APPLIED", "replayed": false}'::jsonb,
              '2030-07-01 00:00:00+00'::timestamptz FROM h $$,
    'the binding row: scope, key, request hash, result, ops.now()');
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('promo.redeem', 'key-protocol-1', (SELECT first FROM h))).* $$,
    $$ VALUES (false, '{"outcome": "APPLIED", "replayed": false}'::jsonb) $$,
    'the same key and hash: the stored result');
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('promo.redeem', 'key-protocol-1', (SELECT alt FROM h), (SELECT first FROM h))).* $$,
    $$ VALUES (false, '{"outcome": "APPLIED", "replayed": false}'::jsonb) $$,
    'the alternative hash matches too (a request under the previous pepper)');
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('promo.redeem', 'key-protocol-1', (SELECT other FROM h))).* $$,
    $$ VALUES (true, NULL::jsonb) $$,
    'another hash: a conflict, and no result');
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('promo.redeem', 'key-protocol-1', (SELECT other FROM h), (SELECT alt FROM h))).* $$,
    $$ VALUES (true, NULL::jsonb) $$,
    'neither hash matches: a conflict');
SELECT results_eq(
    $$ SELECT (ops.find_idempotent('billing.init_purchase', 'key-protocol-1', (SELECT other FROM h))).* $$,
    $$ VALUES (false, NULL::jsonb) $$,
    'the same key in another scope is another key');
SELECT is(pg_temp.refusal($$ SELECT ops.find_idempotent('promo.redeem', 'short', '\x00') $$),
          'SP422 invalid_argument | invalid argument p_idempotency_key | Send one random key per logical request (e.g. a UUID) and reuse it only to retry.',
          'a short key is refused (SP422 invalid_argument, with the hint)');
SELECT is(pg_temp.refusal($$ SELECT ops.find_idempotent('promo.redeem', 'key with spaces', '\x00') $$),
          'SP422 invalid_argument | invalid argument p_idempotency_key | Send one random key per logical request (e.g. a UUID) and reuse it only to retry.',
          'a key with spaces is refused');
SELECT is(pg_temp.refusal($$ SELECT ops.find_idempotent('promo.redeem', NULL, '\x00') $$),
          'SP422 invalid_argument | invalid argument p_idempotency_key | Send one random key per logical request (e.g. a UUID) and reuse it only to retry.',
          'a missing key is refused');
SELECT is(pg_temp.refusal($$ SELECT ops.save_idempotent('promo.redeem', 'key-protocol-1', (SELECT first FROM h), '{}') $$),
          '23505 idempotency_keys_pkey | duplicate key value violates unique constraint "idempotency_keys_pkey"',
          'a second binding of a key fails loudly (a caller that skipped find)');
SELECT throws_ok($$ SELECT ops.save_idempotent('promo.no_such_scope', 'key-protocol-2', '\x00', '{}') $$,
                 '23514', NULL, 'an unknown scope is refused by the table');
SELECT is(pg_temp.refusal($$ UPDATE ops.idempotency_keys SET result = '{}' $$),
          'SP409 append_only | ops.idempotency_keys is append-only | Correct a row by appending a compensating row.',
          'a binding is never updated');
SELECT is(pg_temp.refusal($$ DELETE FROM ops.idempotency_keys $$),
          'SP409 append_only | ops.idempotency_keys is append-only | Correct a row by appending a compensating row.',
          'nor deleted');
SELECT is(pg_temp.refusal($$ TRUNCATE ops.idempotency_keys $$),
          'SP409 append_only | ops.idempotency_keys is append-only | Correct a row by appending a compensating row.',
          'nor truncated');

-- ops.idempotent_answer: the verdict as a row of the caller's result type.
SELECT is(ops.idempotent_answer(NULL::api.rollback_refunded_promo_result, ROW(false, NULL)::ops.idempotent_prior),
          NULL::api.rollback_refunded_promo_result, 'a new key: NULL (decide and record it)');
SELECT is(ops.idempotent_answer(NULL::api.rollback_refunded_promo_result,
                                ROW(false, '{"outcome": "NO_PROMO", "purchase_id": 7, "promo_redemption_id": null, "replayed": false}')::ops.idempotent_prior)::text,
          ROW('NO_PROMO', 7, NULL, true)::api.rollback_refunded_promo_result::text,
          'a replay: the stored row whole, replayed = true');
SELECT is(ops.idempotent_answer(NULL::api.rollback_refunded_promo_result, ROW(true, NULL)::ops.idempotent_prior)::text,
          ROW('IDEMPOTENCY_CONFLICT', NULL, NULL, false)::api.rollback_refunded_promo_result::text,
          'a conflict: IDEMPOTENCY_CONFLICT, nothing else, replayed = false');

-- ---------------------------------------------------------------------------------------------
-- What the protocol's functions store: their result row whole, replayed = false.
SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(4501, 4503) AS u;
CREATE TEMP TABLE opened AS SELECT * FROM api.init_purchase(4501, 'premium_30d', NULL, 'idem-init-4501');
SELECT results_eq(
    $$ SELECT k.result, k.request_hash FROM ops.idempotency_keys AS k
       WHERE k.scope = 'billing.init_purchase' AND k.idempotency_key = 'idem-init-4501' $$,
    $$ SELECT to_jsonb(o), ops.request_hash(jsonb_build_array(4501, 'premium_30d', NULL)) FROM opened AS o $$,
    'init_purchase stores its row whole under the hash of user, plan and redemption');
SELECT results_eq(
    $$ SELECT * FROM api.init_purchase(4501, 'premium_30d', NULL, 'idem-init-4501') $$,
    $$ SELECT outcome, purchase_id, invoice_payload, price_stars, base_price_stars, discount_percent, currency,
              title, description, premium_days, true FROM opened $$,
    'and replays it whole, every column equal, replayed = true');
-- A plan's title changed since: the replay is the stored answer, not a re-read.
UPDATE billing.plans SET title = 'Premium 30 Tage (neu)' WHERE plan_code = 'premium_30d';
SELECT is((SELECT title FROM api.init_purchase(4501, 'premium_30d', NULL, 'idem-init-4501')),
          (SELECT title FROM opened), 'a replay answers the stored row, not today''s plan');
SELECT is((SELECT outcome FROM api.init_purchase(4501, 'premium_90d', NULL, 'idem-init-4501')),
          'IDEMPOTENCY_CONFLICT', 'init_purchase: the key with another plan is IDEMPOTENCY_CONFLICT');

-- complete_purchase: the charge id is not a key (too long, other characters): its digest is.
CREATE TEMP TABLE paid AS
SELECT * FROM api.complete_purchase(4501, (SELECT invoice_payload FROM opened), 'charge/with spaces+ümlaut', 'XTR',
                                    (SELECT price_stars FROM opened));
SELECT results_eq(
    $$ SELECT k.idempotency_key::text, k.result, k.request_hash FROM ops.idempotency_keys AS k
       WHERE k.scope = 'billing.complete_purchase' $$,
    $$ SELECT encode(sha256(convert_to('charge/with spaces+ümlaut', 'UTF8')), 'hex'), to_jsonb(p),
              ops.request_hash(jsonb_build_array(4501, o.invoice_payload, 'XTR', o.price_stars))
       FROM paid AS p, opened AS o $$,
    'complete_purchase stores its row under the hex sha256 of the charge id, hashing user, payload, currency, amount');
SELECT is((SELECT outcome FROM paid), 'PAID', 'a charge id with spaces and umlauts settles');
SELECT results_eq(
    $$ SELECT * FROM api.complete_purchase(4501, (SELECT invoice_payload FROM opened), 'charge/with spaces+ümlaut',
                                           'XTR', (SELECT price_stars FROM opened)) $$,
    $$ SELECT outcome, purchase_id, premium_until, referral_reward_id, referrer_user_id, true FROM paid $$,
    'and replays whole');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM api.complete_purchase(4502, 'idem-unknown-payload', repeat('é', 255), 'XTR', 1) $$,
    $$ VALUES ('UNKNOWN_PURCHASE', false) $$, 'a 255-character charge id of two-byte characters is a key too');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM api.complete_purchase(4502, 'idem-unknown-payload', repeat('é', 255), 'XTR', 1) $$,
    $$ VALUES ('UNKNOWN_PURCHASE', true) $$, 'and replays');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM api.complete_purchase(4502, 'idem-unknown-payload', repeat('é', 255), 'XTR', 2) $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', false) $$, 'the same charge id with another amount is IDEMPOTENCY_CONFLICT');
SELECT results_eq(
    $$ SELECT event, severity, dedup_key FROM ops.alert_outbox WHERE event = 'payments.charge_id_conflict' $$,
    $$ VALUES ('payments.charge_id_conflict', 'critical',
               'payments.charge_id_conflict:' || encode(sha256(convert_to(repeat('é', 255), 'UTF8')), 'hex')) $$,
    'with a critical alert keyed by the charge id''s digest');

-- rollback_refunded_promo
SELECT api.mark_purchase_refunded('charge/with spaces+ümlaut', 'support:anna', 'customer request');
CREATE TEMP TABLE rolled AS
SELECT * FROM api.rollback_refunded_promo((SELECT purchase_id FROM opened), 'support:anna', 'idem-rollback-1');
SELECT results_eq(
    $$ SELECT k.result, k.request_hash FROM ops.idempotency_keys AS k
       WHERE k.scope = 'promo.rollback_refunded_promo' AND k.idempotency_key = 'idem-rollback-1' $$,
    $$ SELECT to_jsonb(r), ops.request_hash(jsonb_build_array(r.purchase_id)) FROM rolled AS r $$,
    'rollback_refunded_promo stores its row whole under the hash of the purchase');
SELECT results_eq(
    $$ SELECT * FROM api.rollback_refunded_promo((SELECT purchase_id FROM opened), 'support:ben', 'idem-rollback-1') $$,
    $$ SELECT outcome, purchase_id, promo_redemption_id, true FROM rolled $$,
    'and replays whole (the actor is not a binding argument)');
SELECT is((SELECT outcome FROM api.rollback_refunded_promo((SELECT purchase_id FROM opened) + 1000000, 'support:anna',
                                                           'idem-rollback-1')),
          'IDEMPOTENCY_CONFLICT', 'the key for another purchase is IDEMPOTENCY_CONFLICT (before the purchase is looked up)');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds');

SELECT * FROM finish();
ROLLBACK;
