-- api.create_promo_code: what a campaign stores (never the code), its capacity slots, its audit
-- row, duplicates (also across a pepper rotation) and every refusal (which writes nothing).
BEGIN;
SELECT plan(57);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-02-01 00:00:00+00';

CREATE TEMP TABLE created (name text PRIMARY KEY, id bigint);

INSERT INTO created VALUES ('alpha', api.create_promo_code(
    'Sommer-2030-Alpha', 'PREMIUM_GRANT', '  Sommer 2030 premium  ', p_grant_days => 30, p_max_uses => 3,
    p_actor => 'ops-alice'));
SELECT ok((SELECT id FROM created WHERE name = 'alpha') > 0, 'create_promo_code returns an id');
SELECT results_eq(
    $$ SELECT campaign, code_hash, pepper_id, kind, grant_days, discount_percent, max_uses,
              per_user_limit, starts_at, ends_at, prefix, status, created_at, created_by, updated_at
       FROM promo.promo_codes WHERE promo_code_id = (SELECT id FROM created WHERE name = 'alpha') $$,
    $$ VALUES ('Sommer 2030 premium', promo.hash_code('SOMMER2030ALPHA'), promo.pepper_id(promo.pepper()),
               'PREMIUM_GRANT', 30, NULL::integer, 3, 1, '2030-02-01 00:00:00+00'::timestamptz,
               NULL::timestamptz, NULL::text, 'ACTIVE', '2030-02-01 00:00:00+00'::timestamptz, 'ops-alice',
               '2030-02-01 00:00:00+00'::timestamptz) $$,
    'the campaign stores the HMAC of the canonical code, the fields, starts now by default');
SELECT is(octet_length((SELECT pepper_id FROM promo.promo_codes
                        WHERE promo_code_id = (SELECT id FROM created WHERE name = 'alpha'))),
          8, 'the pepper is identified by an 8-byte fingerprint');
SELECT results_eq(
    $$ SELECT slot_no, capacity, used, held FROM promo.capacity_slots
       WHERE promo_code_id = (SELECT id FROM created WHERE name = 'alpha') ORDER BY slot_no $$,
    $$ VALUES (0::smallint, 1, 0, 0), (1::smallint, 1, 0, 0), (2::smallint, 1, 0, 0) $$,
    'max_uses 3 gives 3 slots of capacity 1');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, occurred_at,
              details->>'campaign', details->>'kind', (details->>'grant_days')::int,
              (details->>'max_uses')::int, (details->>'per_user_limit')::int
       FROM ops.audit_log WHERE action = 'promo.campaign_created' $$,
    $$ VALUES ('ops-alice', 'promo.campaign_created', 'promo_code',
               (SELECT id FROM created WHERE name = 'alpha')::text, NULL::text,
               '2030-02-01 00:00:00+00'::timestamptz, 'Sommer 2030 premium', 'PREMIUM_GRANT', 30, 3, 1) $$,
    'the creation is audited with the actor and the campaign''s fields');

INSERT INTO created VALUES ('beta', api.create_promo_code(
    'BETA-1000-USES', 'PERCENT_DISCOUNT', 'Beta thousand', p_discount_percent => 20, p_max_uses => 1000,
    p_per_user_limit => 2, p_starts_at => '2030-02-10 00:00:00+00', p_ends_at => '2030-03-01 00:00:00+00',
    p_prefix => 'be-ta'));
SELECT results_eq(
    $$ SELECT count(*), sum(capacity), min(capacity), max(capacity), count(*) FILTER (WHERE capacity = 16),
              min(slot_no), max(slot_no)
       FROM promo.capacity_slots WHERE promo_code_id = (SELECT id FROM created WHERE name = 'beta') $$,
    $$ VALUES (64::bigint, 1000::bigint, 15, 16, 40::bigint, 0::smallint, 63::smallint) $$,
    'max_uses 1000 is spread over 64 slots (40 of 16, 24 of 15) summing to 1000');
SELECT results_eq(
    $$ SELECT kind, grant_days, discount_percent, per_user_limit, starts_at, ends_at, prefix, created_by
       FROM promo.promo_codes WHERE promo_code_id = (SELECT id FROM created WHERE name = 'beta') $$,
    $$ VALUES ('PERCENT_DISCOUNT', NULL::integer, 20, 2, '2030-02-10 00:00:00+00'::timestamptz,
               '2030-03-01 00:00:00+00'::timestamptz, 'BETA', 'db:' || (session_user::text COLLATE "default")) $$,
    'a discount campaign with a period and a normalized prefix; the actor defaults to db:<session_user>');
SELECT is((SELECT actor FROM ops.audit_log
           WHERE action = 'promo.campaign_created' AND target_id = (SELECT id FROM created WHERE name = 'beta')::text),
          'db:' || (session_user::text COLLATE "default"), 'the default actor is audited too');

INSERT INTO created VALUES ('gamma', api.create_promo_code(
    'GAMMA-UNLIMITED', 'PREMIUM_GRANT', 'Gamma campaign', p_grant_days => 7));
SELECT results_eq(
    $$ SELECT count(*), count(capacity), sum(used), sum(held)
       FROM promo.capacity_slots WHERE promo_code_id = (SELECT id FROM created WHERE name = 'gamma') $$,
    $$ VALUES (64::bigint, 0::bigint, 0::bigint, 0::bigint) $$,
    'an unlimited campaign gets 64 slots with NULL capacity');
SELECT is((SELECT max_uses FROM promo.promo_codes WHERE promo_code_id = (SELECT id FROM created WHERE name = 'gamma')),
          NULL::integer, 'an unlimited campaign has no max_uses');

INSERT INTO created VALUES ('delta', api.create_promo_code(
    'DELTA', 'PREMIUM_GRANT', 'Fourth single-use', p_grant_days => 1, p_max_uses => 1));
SELECT results_eq(
    $$ SELECT slot_no, capacity FROM promo.capacity_slots
       WHERE promo_code_id = (SELECT id FROM created WHERE name = 'delta') $$,
    $$ VALUES (0::smallint, 1) $$, 'max_uses 1 gives a single slot');

SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.campaign_created'), 4::bigint,
          'one audit row per campaign');

-- The code itself is stored nowhere.
SELECT is_empty(
    $$ SELECT 'promo_codes', c.promo_code_id::text FROM promo.promo_codes AS c
       WHERE upper(row_to_json(c)::text) ~ '2030ALPHA|2030-ALPHA|1000USES|1000-USES|GAMMAUNLIMITED|GAMMA-UNLIMITED'
       UNION ALL
       SELECT 'audit_log', a.audit_id::text FROM ops.audit_log AS a
       WHERE upper(row_to_json(a)::text) ~ '2030ALPHA|2030-ALPHA|1000USES|1000-USES|GAMMAUNLIMITED|GAMMA-UNLIMITED' $$,
    'no column of promo.promo_codes or ops.audit_log contains a code, in any spelling');

-- Duplicates.
CREATE TEMP TABLE counts_before AS
SELECT (SELECT count(*) FROM promo.promo_codes) AS codes,
       (SELECT count(*) FROM promo.capacity_slots) AS slots,
       (SELECT count(*) FROM ops.audit_log) AS audits;
SELECT throws_ok(
    $$ SELECT api.create_promo_code('SOMMER-2030-ALPHA', 'PREMIUM_GRANT', 'Again', p_grant_days => 30) $$,
    'SPDUP', 'promo code already exists', 'the same code again is refused');
SELECT throws_ok(
    $$ SELECT api.create_promo_code(' sommer 2030 alpha ', 'PERCENT_DISCOUNT', 'Again', p_discount_percent => 5) $$,
    'SPDUP', 'promo code already exists', 'a spacing and case variant of a code is the same code');
SELECT throws_ok(
    $$ SELECT api.create_promo_code('ｄｅｌｔａ', 'PREMIUM_GRANT', 'Again', p_grant_days => 30) $$,
    'SPDUP', 'promo code already exists', 'a full-width variant of a code is the same code');

-- Pepper rotation: a code hashed under the previous pepper is still taken.
SET LOCAL promo.pepper_previous = 'test-pepper-0123456789-0123456789-abcdef';
SET LOCAL promo.pepper = 'rotated-pepper-9876543210-9876543210-zyxw';
SELECT throws_ok(
    $$ SELECT api.create_promo_code('Sommer 2030 Alpha', 'PREMIUM_GRANT', 'Again', p_grant_days => 30) $$,
    'SPDUP', 'promo code already exists', 'a code created under the previous pepper is a duplicate');
INSERT INTO created VALUES ('epsilon', api.create_promo_code(
    'EPSILON-2030', 'PREMIUM_GRANT', 'Epsilon new pepper', p_grant_days => 3, p_max_uses => 2));
SELECT results_eq(
    $$ SELECT code_hash, pepper_id FROM promo.promo_codes
       WHERE promo_code_id = (SELECT id FROM created WHERE name = 'epsilon') $$,
    $$ VALUES (promo.hash_code('EPSILON2030'), promo.pepper_id(promo.pepper())) $$,
    'a new code is hashed under the new pepper and carries its fingerprint');
SELECT isnt((SELECT pepper_id FROM promo.promo_codes WHERE promo_code_id = (SELECT id FROM created WHERE name = 'epsilon')),
            (SELECT pepper_id FROM promo.promo_codes WHERE promo_code_id = (SELECT id FROM created WHERE name = 'alpha')),
            'the two peppers have different fingerprints');
SET LOCAL promo.pepper_previous = '';
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
DELETE FROM counts_before;
INSERT INTO counts_before
SELECT (SELECT count(*) FROM promo.promo_codes), (SELECT count(*) FROM promo.capacity_slots),
       (SELECT count(*) FROM ops.audit_log);

-- Refusals: SP422 naming the argument.
SELECT throws_ok($$ SELECT api.create_promo_code('ABC', 'PREMIUM_GRANT', 'Short', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_code', 'a code of 3 characters is refused');
SELECT throws_ok($$ SELECT api.create_promo_code(' a-b-c ', 'PREMIUM_GRANT', 'Short', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_code', 'a code of 3 characters once normalized is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER_2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_code', 'an invalid code is refused');
SELECT throws_ok($$ SELECT api.create_promo_code(NULL, 'PREMIUM_GRANT', 'Bad', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_code', 'a missing code is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'FREE_STUFF', 'Bad', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_kind', 'an unknown kind is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', NULL, 'Bad', p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_kind', 'a missing kind is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad') $$,
                 'SP422', 'invalid argument p_grant_days', 'PREMIUM_GRANT without grant_days is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 0) $$,
                 'SP422', 'invalid argument p_grant_days', 'PREMIUM_GRANT with 0 days is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 3661) $$,
                 'SP422', 'invalid argument p_grant_days', 'PREMIUM_GRANT with 3661 days is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_discount_percent => 10) $$,
                 'SP422', 'invalid argument p_discount_percent', 'PREMIUM_GRANT with discount_percent is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PERCENT_DISCOUNT', 'Bad') $$,
                 'SP422', 'invalid argument p_discount_percent', 'PERCENT_DISCOUNT without a percent is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PERCENT_DISCOUNT', 'Bad', p_discount_percent => 0) $$,
                 'SP422', 'invalid argument p_discount_percent', 'PERCENT_DISCOUNT with 0 percent is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PERCENT_DISCOUNT', 'Bad', p_discount_percent => 100) $$,
                 'SP422', 'invalid argument p_discount_percent', 'PERCENT_DISCOUNT with 100 percent is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PERCENT_DISCOUNT', 'Bad', p_discount_percent => 10,
                                                  p_grant_days => 30) $$,
                 'SP422', 'invalid argument p_grant_days', 'PERCENT_DISCOUNT with grant_days is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_max_uses => 0) $$,
                 'SP422', 'invalid argument p_max_uses', 'max_uses 0 is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_max_uses => 10000001) $$,
                 'SP422', 'invalid argument p_max_uses', 'max_uses above 10000000 is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_per_user_limit => 0) $$,
                 'SP422', 'invalid argument p_per_user_limit', 'per_user_limit 0 is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_max_uses => 3, p_per_user_limit => 4) $$,
                 'SP422', 'invalid argument p_per_user_limit', 'per_user_limit above max_uses is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_per_user_limit => 1001) $$,
                 'SP422', 'invalid argument p_per_user_limit', 'per_user_limit above 1000 is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_starts_at => '2030-03-01 00:00:00+00',
                                                  p_ends_at => '2030-02-15 00:00:00+00') $$,
                 'SP422', 'invalid argument p_ends_at', 'ends_at before starts_at is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_starts_at => '2030-03-01 00:00:00+00',
                                                  p_ends_at => '2030-03-01 00:00:00+00') $$,
                 'SP422', 'invalid argument p_ends_at', 'ends_at equal to starts_at is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_starts_at => '2030-01-01 00:00:00+00',
                                                  p_ends_at => '2030-01-31 00:00:00+00') $$,
                 'SP422', 'invalid argument p_ends_at', 'ends_at in the past is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_prefix => 'SUMMER') $$,
                 'SP422', 'invalid argument p_prefix', 'a prefix the code does not start with is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_prefix => 'W') $$,
                 'SP422', 'invalid argument p_prefix', 'a 1-character prefix is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_prefix => 'WIN_') $$,
                 'SP422', 'invalid argument p_prefix', 'an invalid prefix is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', '', p_grant_days => 30) $$,
                 'SP422', 'invalid argument p_campaign', 'an empty campaign name is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', '   ', p_grant_days => 30) $$,
                 'SP422', 'invalid argument p_campaign', 'a blank campaign name is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', repeat('c', 101), p_grant_days => 30) $$,
                 'SP422', 'invalid argument p_campaign', 'a campaign name of 101 characters is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Bad', p_grant_days => 30,
                                                  p_actor => '') $$,
                 'SP422', 'invalid argument p_actor', 'an empty actor is refused');
SET LOCAL promo.pepper = '';
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'No pepper', p_grant_days => 30) $$,
                 'SP500', 'promo.pepper is not set', 'without a pepper nothing is created');
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';

SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_codes), (SELECT count(*) FROM promo.capacity_slots),
              (SELECT count(*) FROM ops.audit_log) $$,
    $$ SELECT codes, slots, audits FROM counts_before $$,
    'refused creations wrote no campaign, slot or audit row');
-- A campaign hashed under another pepper exists (epsilon): creating needs the previous pepper,
-- or a code taken under it would go unnoticed.
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Winter', p_grant_days => 30) $$,
                 'SP500', 'promo.pepper_previous is not set',
                 'during a rotation, creation refuses to run without the previous pepper');
-- The same from the other side (the other fingerprints sort before or after the current one).
SET LOCAL promo.pepper = 'rotated-pepper-9876543210-9876543210-zyxw';
SELECT throws_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Winter', p_grant_days => 30) $$,
                 'SP500', 'promo.pepper_previous is not set',
                 'so it does under the new pepper while campaigns of the old one remain');
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
SET LOCAL promo.pepper_previous = 'rotated-pepper-9876543210-9876543210-zyxw';
SELECT lives_ok($$ SELECT api.create_promo_code('WINTER2030', 'PREMIUM_GRANT', 'Winter', p_grant_days => 30,
                                                 p_prefix => 'WIN') $$,
                'the same arguments, made valid, are accepted (4+ characters, matching prefix)');

-- A prefix is part of the code and is stored in clear (promo_codes.prefix, audit details):
-- a prefix that is the whole code would store the code itself.
SELECT throws_ok($$ SELECT api.create_promo_code('FULLPREFIX', 'PREMIUM_GRANT', 'Whole-code prefix',
                                                  p_grant_days => 30, p_prefix => 'FULLPREFIX') $$,
                 'SP422', 'invalid argument p_prefix',
                 'a prefix that is the whole code is refused (it would store the code in clear)');
SELECT is_empty(
    $$ SELECT 'promo_codes', c.promo_code_id::text FROM promo.promo_codes AS c
       WHERE row_to_json(c)::text LIKE '%FULLPREFIX%'
       UNION ALL
       SELECT 'audit_log', a.audit_id::text FROM ops.audit_log AS a
       WHERE row_to_json(a)::text LIKE '%FULLPREFIX%' $$,
    'so that code is stored in clear nowhere');

-- The rotation is over once no live campaign carries the other pepper: creation works again
-- without the previous pepper (ended campaigns under it can never be redeemed).
RESET promo.pepper_previous;
SELECT throws_ok($$ SELECT api.create_promo_code('AFTERROT2030', 'PREMIUM_GRANT', 'After', p_grant_days => 30) $$,
                 'SP500', 'promo.pepper_previous is not set', 'while a live campaign carries the old pepper');
UPDATE promo.promo_codes SET status = 'EXPIRED', expired_at = ops.now()
WHERE pepper_id <> promo.pepper_id(promo.pepper()) AND NOT internal AND status IN ('ACTIVE', 'PAUSED');
SELECT lives_ok($$ SELECT api.create_promo_code('AFTERROT2030', 'PREMIUM_GRANT', 'After', p_grant_days => 30) $$,
                'after the rotation (old campaigns ended), creation needs no previous pepper');
SELECT * FROM finish();
ROLLBACK;
