-- What the Telegram bot calls first: api.greet_user, api.accept_terms and api.get_terms_status.
-- Every outcome and every refusal, with the injectable clock.
BEGIN;
SELECT plan(44);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

CREATE TEMP TABLE greet (label text PRIMARY KEY, created boolean, referral_outcome text, is_premium boolean,
                         premium_until timestamptz, referral_code text, terms_version text, terms_accepted boolean,
                         plans jsonb);
CREATE FUNCTION pg_temp.g(p_label text) RETURNS greet
LANGUAGE sql STABLE AS $$ SELECT * FROM greet WHERE label = p_label $$;


-- ---------------------------------------------------------------------------------------------
-- greet_user
INSERT INTO greet SELECT 'first', * FROM api.greet_user(9101, 'anna_b', 'Anna', 'de');
SELECT results_eq(
    $$ SELECT created, referral_outcome, is_premium, premium_until, terms_version, terms_accepted FROM greet
       WHERE label = 'first' $$,
    $$ VALUES (true, NULL::text, false, NULL::timestamptz, '2026-12', false) $$,
    'a new user: created, no referral outcome without a deep link, no premium, the current terms not accepted');
SELECT results_eq(
    $$ SELECT username, first_name, language_code, created_at, last_seen_at, terms_version, data_deleted_at
       FROM core.users WHERE user_id = 9101 $$,
    $$ VALUES ('anna_b', 'Anna', 'de', '2030-09-01 00:00:00+00'::timestamptz, '2030-09-01 00:00:00+00'::timestamptz,
               NULL::text, NULL::timestamptz) $$,
    'the profile is stored');
SELECT matches((pg_temp.g('first')).referral_code, '^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{10}$',
               'the welcome carries the user''s referral code');
SELECT is((pg_temp.g('first')).referral_code, (SELECT code FROM referral.codes WHERE user_id = 9101),
          'the code stored for the user');
SELECT is((pg_temp.g('first')).plans,
          (SELECT jsonb_agg(jsonb_build_object('plan_code', plan_code, 'title', title, 'premium_days', premium_days,
                                               'price_stars', price_stars) ORDER BY sort_order, plan_code)
           FROM billing.plans WHERE is_active),
          'plans: code, title, days and price of each plan on sale, in display order');
SELECT is(jsonb_array_length((pg_temp.g('first')).plans), 3, 'the three seeded plans');

UPDATE ops.clock SET frozen_at = '2030-09-01 00:05:00+00';
INSERT INTO greet SELECT 'again', * FROM api.greet_user(9101, NULL, 'Anna-Lena', 'en');
SELECT results_eq(
    $$ SELECT created, referral_outcome, referral_code FROM greet WHERE label = 'again' $$,
    $$ SELECT false, NULL::text, (pg_temp.g('first')).referral_code $$,
    'a returning user: not created, the same referral code');
SELECT results_eq(
    $$ SELECT username, first_name, language_code, last_seen_at FROM core.users WHERE user_id = 9101 $$,
    $$ VALUES (NULL::text, 'Anna-Lena', 'en', '2030-09-01 00:05:00+00'::timestamptz) $$,
    'the profile Telegram sends now replaces the stored one (a removed username is removed)');

-- Premium and terms show up.
SELECT ok((SELECT premium_until FROM api.adjust_premium_days(9101, 7, 'test:ops', 'premium for the welcome test'))
          = '2030-09-08 00:05:00+00', 'user 9101 gets 7 days of premium');
SELECT is((SELECT outcome FROM api.accept_terms(9101, '2026-12')), 'ACCEPTED', 'and accepts the terms');
INSERT INTO greet SELECT 'premium', * FROM api.greet_user(9101, NULL, 'Anna-Lena', 'en');
SELECT results_eq(
    $$ SELECT is_premium, premium_until, terms_version, terms_accepted FROM greet WHERE label = 'premium' $$,
    $$ VALUES (true, '2030-09-08 00:05:00+00'::timestamptz, '2026-12', true) $$,
    'the welcome shows premium until when and that the terms are accepted');

-- The deep link's referral, passed through as api.register_referral answers it.
SELECT api.touch_user(9102, 'ref_owner', 'Rudi', 'de');
INSERT INTO greet SELECT 'link', * FROM api.greet_user(9103, 'bert', 'Bert', 'de', api.get_referral_code(9102));
SELECT results_eq(
    $$ SELECT created, referral_outcome FROM greet WHERE label = 'link' $$,
    $$ VALUES (true, 'REGISTERED') $$, 'a deep link of a new user: REGISTERED');
SELECT results_eq(
    $$ SELECT referrer_user_id FROM referral.referrals WHERE referee_user_id = 9103 $$,
    $$ VALUES (9102::bigint) $$, 'the referral is stored');
SELECT is((SELECT referral_outcome FROM api.greet_user(9103, 'bert', 'Bert', 'de', api.get_referral_code(9101))),
          'ALREADY_REFERRED', 'a second deep link: ALREADY_REFERRED');
SELECT is((SELECT referral_outcome FROM api.greet_user(9102, 'ref_owner', 'Rudi', 'de', api.get_referral_code(9102))),
          'SELF_REFERRAL', 'one''s own link: SELF_REFERRAL');
SELECT is((SELECT referral_outcome FROM api.greet_user(9104, NULL, NULL, NULL, 'garbage!')),
          'UNKNOWN_CODE', 'a garbage link: UNKNOWN_CODE');
SELECT is((SELECT referral_outcome FROM api.greet_user(9104)), NULL, 'no link: NULL');
SELECT is((SELECT count(*) FROM referral.referrals WHERE referee_user_id IN (9102, 9104)), 0::bigint,
          'refused links store no referral');

-- Refusals (those of api.touch_user), writing nothing, not even the referral.
SELECT throws_ok($$ SELECT * FROM api.greet_user(0) $$, 'SP422', 'invalid argument p_user_id',
                 'greet_user refuses user id 0');
SELECT throws_ok($$ SELECT * FROM api.greet_user(NULL) $$, 'SP422', 'invalid argument p_user_id',
                 'and a missing user id');
SELECT throws_ok($$ SELECT * FROM api.greet_user(9105, '@anna') $$, 'SP422', 'invalid argument p_username',
                 'and a username with an @');
SELECT throws_ok($$ SELECT * FROM api.greet_user(9105, NULL, repeat('x', 65)) $$, 'SP422',
                 'invalid argument p_first_name', 'and a 65-character first name');
SELECT throws_ok($$ SELECT * FROM api.greet_user(9105, NULL, NULL, 'deutsch!', api.get_referral_code(9102)) $$,
                 'SP422', 'invalid argument p_language_code', 'and a language that is no tag');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9105), 0::bigint, 'a refused greeting creates no user');
SELECT is((SELECT count(*) FROM referral.referrals WHERE referee_user_id = 9105), 0::bigint,
          'and registers no referral');

-- ---------------------------------------------------------------------------------------------
-- accept_terms and get_terms_status
SELECT results_eq($$ SELECT * FROM api.get_terms_status(9110) $$,
                  $$ VALUES ('2026-12', false, NULL::timestamptz) $$,
                  'get_terms_status for an unknown user: the current version, not accepted');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9110), 0::bigint, 'and creates no user');
SELECT results_eq($$ SELECT * FROM api.accept_terms(9110, '2025-01') $$,
                  $$ VALUES ('OUTDATED', '2026-12', NULL::timestamptz) $$,
                  'another version than the current one is OUTDATED, with the current one');
SELECT results_eq($$ SELECT * FROM api.accept_terms(9110, NULL) $$,
                  $$ VALUES ('OUTDATED', '2026-12', NULL::timestamptz) $$, 'so is a missing version');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9110), 0::bigint, 'OUTDATED creates no user');
SELECT api.touch_user(9111, 'tom', 'Tom', 'de');
SELECT is((SELECT outcome FROM api.accept_terms(9111, '2025-01')), 'OUTDATED', 'OUTDATED for a known user');
SELECT results_eq($$ SELECT terms_version, terms_accepted_at, updated_at FROM core.users WHERE user_id = 9111 $$,
                  $$ VALUES (NULL::text, NULL::timestamptz, '2030-09-01 00:05:00+00'::timestamptz) $$,
                  'writes nothing');

UPDATE ops.clock SET frozen_at = '2030-09-01 01:00:00+00';
SELECT results_eq($$ SELECT * FROM api.accept_terms(9110, '2026-12') $$,
                  $$ VALUES ('ACCEPTED', '2026-12', '2030-09-01 01:00:00+00'::timestamptz) $$,
                  'the current version is ACCEPTED now');
SELECT results_eq($$ SELECT terms_version, terms_accepted_at FROM core.users WHERE user_id = 9110 $$,
                  $$ VALUES ('2026-12', '2030-09-01 01:00:00+00'::timestamptz) $$,
                  'and stored (the unknown user is created)');
SELECT results_eq($$ SELECT * FROM api.get_terms_status(9110) $$,
                  $$ VALUES ('2026-12', true, '2030-09-01 01:00:00+00'::timestamptz) $$,
                  'get_terms_status: accepted, and when');
UPDATE ops.clock SET frozen_at = '2030-09-01 02:00:00+00';
SELECT results_eq($$ SELECT * FROM api.accept_terms(9110, '2026-12') $$,
                  $$ VALUES ('ALREADY_ACCEPTED', '2026-12', '2030-09-01 01:00:00+00'::timestamptz) $$,
                  'a second acceptance is ALREADY_ACCEPTED with the first time');
SELECT results_eq($$ SELECT terms_accepted_at, updated_at FROM core.users WHERE user_id = 9110 $$,
                  $$ VALUES ('2030-09-01 01:00:00+00'::timestamptz, '2030-09-01 01:00:00+00'::timestamptz) $$,
                  'which is kept');

-- New terms: an acceptance of the old ones no longer counts.
UPDATE ops.settings SET value = '2027-03' WHERE key = 'billing.terms_version';
SELECT results_eq($$ SELECT * FROM api.get_terms_status(9110) $$,
                  $$ VALUES ('2027-03', false, NULL::timestamptz) $$,
                  'after a new terms version the old acceptance is not the current one');
SELECT is((SELECT outcome FROM api.accept_terms(9110, '2026-12')), 'OUTDATED', 'the old version is now OUTDATED');
SELECT results_eq($$ SELECT * FROM api.accept_terms(9110, '2027-03') $$,
                  $$ VALUES ('ACCEPTED', '2027-03', '2030-09-01 02:00:00+00'::timestamptz) $$,
                  'the new version is ACCEPTED anew');
UPDATE ops.settings SET value = '2026-12' WHERE key = 'billing.terms_version';

SELECT throws_ok($$ SELECT * FROM api.accept_terms(0, '2026-12') $$, 'SP422', 'invalid argument p_user_id',
                 'accept_terms refuses user id 0');
SELECT throws_ok($$ SELECT * FROM api.accept_terms(NULL, '2026-12') $$, 'SP422', 'invalid argument p_user_id',
                 'and a missing user id');
SELECT throws_ok($$ SELECT * FROM api.get_terms_status(-5) $$, 'SP422', 'invalid argument p_user_id',
                 'get_terms_status refuses a negative user id');


SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after these scenarios');
SELECT * FROM finish();
ROLLBACK;
