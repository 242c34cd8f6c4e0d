-- What the Telegram bot calls beside the purchase flow: api.greet_user, api.accept_terms,
-- api.get_terms_status, api.quote_discount, api.delete_user_data, api.open_payment_support,
-- api.request_purchase_refund, api.claim_telegram_update, api.finish_telegram_update.
-- Every outcome and every refusal, with the injectable clock.
BEGIN;
SELECT plan(137);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

-- Users 9101-9199. A purchase helper: init + complete, returns the purchase id.
CREATE FUNCTION pg_temp.buy(p_key text, p_user bigint, p_plan text, p_rid bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v  record;
BEGIN
    SELECT * INTO v FROM api.init_purchase(p_user, p_plan, p_rid, 'init-' || p_key);
    PERFORM api.complete_purchase(p_user, v.invoice_payload, 'charge-' || p_key, 'XTR', v.price_stars);
    RETURN v.purchase_id;
END
$$;
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

-- ---------------------------------------------------------------------------------------------
-- quote_discount
INSERT INTO camp VALUES
    ('d33', api.create_promo_code('BOT-QUOTE-33', 'PERCENT_DISCOUNT', 'Bot 33 %', p_discount_percent => 33,
                                  p_max_uses => 50)),
    ('grant', api.create_promo_code('BOT-GRANT-07', 'PREMIUM_GRANT', 'Bot grant', p_grant_days => 7,
                                    p_max_uses => 50));
INSERT INTO rsv
SELECT u::text, (api.redeem_promo_code(u, 'BOT-QUOTE-33', 'quote-key-' || u)).promo_redemption_id
FROM unnest(ARRAY[9120, 9121, 9122, 9123]) AS u;
INSERT INTO rsv SELECT '9124', (api.redeem_promo_code(9124, 'BOT-GRANT-07', 'quote-key-9124')).promo_redemption_id;
-- init_purchase for each plan with the same reservation (each purchase cancelled before the next,
-- since one reservation backs one open purchase).
CREATE FUNCTION pg_temp.init_each_plan(p_user bigint, p_rid bigint)
RETURNS TABLE (plan_code text, base_price_stars integer, price_stars integer, discount_percent integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_plan  text;
    v       record;
BEGIN
    FOR v_plan IN SELECT pl.plan_code FROM billing.plans AS pl WHERE pl.is_active ORDER BY pl.sort_order, pl.plan_code LOOP
        SELECT * INTO v FROM api.init_purchase(p_user, v_plan, p_rid, 'quote-init-' || v_plan);
        UPDATE billing.purchases AS p SET status = 'CANCELLED', cancelled_at = ops.now()
        WHERE p.purchase_id = v.purchase_id;
        plan_code := v_plan;
        base_price_stars := v.base_price_stars;
        price_stars := v.price_stars;
        discount_percent := v.discount_percent;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE TEMP TABLE quote AS SELECT * FROM api.quote_discount(9120, pg_temp.rid('9120'));
SELECT results_eq(
    $$ SELECT plan_code, title, premium_days, base_price_stars, price_stars, discount_percent, reserved_until FROM quote $$,
    $$ SELECT pl.plan_code, pl.title, pl.premium_days, pl.price_stars, v.price, 33,
              '2030-09-01 02:15:00+00'::timestamptz
       FROM billing.plans AS pl JOIN (VALUES ('premium_30d', 168), ('premium_90d', 402), ('premium_365d', 1340)) AS v (code, price)
            ON v.code = pl.plan_code
       ORDER BY pl.sort_order, pl.plan_code $$,
    'every plan on sale at 33 % off (rounded half up), in display order, with the hold''s end');
SELECT results_eq(
    $$ SELECT plan_code, base_price_stars, price_stars, discount_percent FROM quote $$,
    $$ SELECT * FROM pg_temp.init_each_plan(9120, pg_temp.rid('9120')) $$,
    'the prices are those init_purchase fixes with the same reservation');
SELECT is((SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('9120')), 'RESERVED',
          'a quote consumes nothing');
UPDATE billing.plans SET is_active = false WHERE plan_code = 'premium_365d';
SELECT results_eq($$ SELECT plan_code FROM api.quote_discount(9120, pg_temp.rid('9120')) $$,
                  $$ VALUES ('premium_30d'), ('premium_90d') $$, 'a withdrawn plan is not quoted');
UPDATE billing.plans SET is_active = true WHERE plan_code = 'premium_365d';

SELECT is_empty($$ SELECT * FROM api.quote_discount(9121, pg_temp.rid('9120')) $$,
                'another user''s reservation: no rows');
SELECT is_empty($$ SELECT * FROM api.quote_discount(9120, 999999999) $$, 'an unknown reservation: no rows');
SELECT is_empty($$ SELECT * FROM api.quote_discount(9120, NULL) $$, 'no reservation: no rows');
SELECT is_empty($$ SELECT * FROM api.quote_discount(9124, pg_temp.rid('9124')) $$,
                'a premium grant is no discount: no rows');
SELECT pg_temp.buy('quote-9122', 9122, 'premium_30d', pg_temp.rid('9122'));
SELECT is((SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('9122')), 'CONSUMED',
          'user 9122 paid with the discount');
SELECT is_empty($$ SELECT * FROM api.quote_discount(9122, pg_temp.rid('9122')) $$,
                'a consumed reservation: no rows');
-- The hold's end, as init_purchase sees it: live before it, gone at it.
UPDATE ops.clock SET frozen_at = '2030-09-01 02:14:59+00';
SELECT is((SELECT count(*) FROM api.quote_discount(9123, pg_temp.rid('9123'))), 3::bigint,
          'a second before the hold ends the discount is quoted');
UPDATE ops.clock SET frozen_at = '2030-09-01 02:15:00+00';
SELECT is_empty($$ SELECT * FROM api.quote_discount(9123, pg_temp.rid('9123')) $$,
                'at the hold''s end (still RESERVED, not yet expired by the job): no rows');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(9123, 'premium_30d', pg_temp.rid('9123'), 'quote-init-late') $$,
                 'SP409', 'promo reservation not usable', 'as init_purchase refuses it then');
SELECT ok(api.expire_promo_reservations() >= 1, 'the expiry job expires the holds');
SELECT is_empty($$ SELECT * FROM api.quote_discount(9123, pg_temp.rid('9123')) $$, 'an EXPIRED reservation: no rows');
SELECT throws_ok($$ SELECT * FROM api.quote_discount(0, pg_temp.rid('9120')) $$, 'SP422', 'invalid argument p_user_id',
                 'quote_discount refuses user id 0');

-- ---------------------------------------------------------------------------------------------
-- delete_user_data
UPDATE ops.clock SET frozen_at = '2030-09-02 00:00:00+00';
SELECT api.touch_user(9130, 'carla_k', 'Carla', 'de');
SELECT is((SELECT outcome FROM api.accept_terms(9130, '2026-12')), 'ACCEPTED', 'user 9130 accepted the terms');
SELECT ok(pg_temp.buy('del-9130', 9130, 'premium_30d') IS NOT NULL, 'and paid a purchase');
CREATE TEMP TABLE money_before AS
SELECT (SELECT count(*) FROM billing.purchases WHERE user_id = 9130) AS purchases,
       (SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = 'charge-del-9130') AS payments,
       (SELECT jsonb_agg(to_jsonb(l) ORDER BY ledger_id) FROM billing.ledger AS l WHERE user_id = 9130) AS ledger,
       (SELECT premium_until FROM billing.entitlements WHERE user_id = 9130) AS premium_until;

UPDATE ops.clock SET frozen_at = '2030-09-02 01:00:00+00';
SELECT results_eq($$ SELECT * FROM api.delete_user_data(9130) $$,
                  $$ VALUES ('DELETED', '2030-09-02 01:00:00+00'::timestamptz) $$, 'a stored user: DELETED, now');
SELECT results_eq(
    $$ SELECT username, first_name, language_code, terms_version, terms_accepted_at, data_deleted_at, updated_at
       FROM core.users WHERE user_id = 9130 $$,
    $$ VALUES (NULL::text, NULL::text, NULL::text, NULL::text, NULL::timestamptz,
               '2030-09-02 01:00:00+00'::timestamptz, '2030-09-02 01:00:00+00'::timestamptz) $$,
    'the profile and the terms acceptance are cleared, the deletion time recorded');
SELECT results_eq(
    $$ SELECT occurred_at, actor, action, target_type, target_id, reason, details FROM ops.audit_log
       WHERE action = 'core.user_data_deleted' $$,
    $$ VALUES ('2030-09-02 01:00:00+00'::timestamptz, 'user:9130', 'core.user_data_deleted', 'user', '9130',
               'request by the user', '{}'::jsonb) $$,
    'and audited, without the deleted data');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.purchases WHERE user_id = 9130),
              (SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = 'charge-del-9130'),
              (SELECT jsonb_agg(to_jsonb(l) ORDER BY ledger_id) FROM billing.ledger AS l WHERE user_id = 9130),
              (SELECT premium_until FROM billing.entitlements WHERE user_id = 9130) $$,
    $$ SELECT purchases, payments, ledger, premium_until FROM money_before $$,
    'purchases, payments, the ledger and premium are kept');
SELECT is((SELECT purchases FROM money_before), 1::bigint, 'the kept purchase is there');
SELECT results_eq($$ SELECT * FROM api.get_terms_status(9130) $$,
                  $$ VALUES ('2026-12', false, NULL::timestamptz) $$, 'the terms count as not accepted');
SELECT results_eq($$ SELECT * FROM api.delete_user_data(9139) $$,
                  $$ VALUES ('NOTHING_STORED', NULL::timestamptz) $$, 'an unknown user: NOTHING_STORED');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9139), 0::bigint, 'which creates no user');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'core.user_data_deleted'), 1::bigint,
          'and no audit row');
UPDATE ops.clock SET frozen_at = '2030-09-02 02:00:00+00';
INSERT INTO greet SELECT 'after deletion', * FROM api.greet_user(9130, 'carla_k', 'Carla', 'de');
SELECT results_eq(
    $$ SELECT g.created, u.username, u.first_name, u.data_deleted_at
       FROM greet AS g CROSS JOIN core.users AS u WHERE g.label = 'after deletion' AND u.user_id = 9130 $$,
    $$ VALUES (false, 'carla_k', 'Carla', '2030-09-02 01:00:00+00'::timestamptz) $$,
    'using the bot again stores the profile anew; the deletion time stays');
SELECT throws_ok($$ SELECT * FROM api.delete_user_data(0) $$, 'SP422', 'invalid argument p_user_id',
                 'delete_user_data refuses user id 0');

-- ---------------------------------------------------------------------------------------------
-- open_payment_support
CREATE TEMP TABLE sup AS SELECT * FROM api.open_payment_support(9140, E'  Zahlung hängt seit gestern \n ', 'tg-update:support-1');
SELECT results_eq(
    $$ SELECT r.user_id, r.message, r.created_at, s.created_at, s.replayed
       FROM sup AS s JOIN billing.support_requests AS r USING (support_request_id) $$,
    $$ VALUES (9140::bigint, 'Zahlung hängt seit gestern', '2030-09-02 02:00:00+00'::timestamptz,
               '2030-09-02 02:00:00+00'::timestamptz, false) $$,
    'the request is stored with the message trimmed; its id and time are returned');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9140), 1::bigint, 'the unknown user is created');
SELECT results_eq(
    $$ SELECT event, severity, state, dedup_key, details FROM ops.alert_outbox WHERE event = 'payments.support_request' $$,
    $$ SELECT 'payments.support_request', 'warning', 'pending', 'payments.support_request:' || support_request_id,
              jsonb_build_object('support_request_id', support_request_id, 'user_id', 9140)
       FROM sup $$,
    'the alert payments.support_request names the request and the user');
SELECT is_empty(
    $$ SELECT alert_id FROM ops.alert_outbox
       WHERE event = 'payments.support_request' AND (summary ~* 'zahlung|gestern' OR details::text ~* 'zahlung|gestern') $$,
    'the alert carries no message text');
INSERT INTO sup SELECT * FROM api.open_payment_support(9140, '  ' || repeat('m', 2000) || '  ', 'tg-update:support-2');
SELECT is((SELECT message FROM billing.support_requests WHERE support_request_id = (SELECT max(support_request_id) FROM sup)),
          repeat('m', 2000), 'a message of 2000 characters after trimming is taken');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE event = 'payments.support_request'), 2::bigint,
          'each request raises its own alert');
SELECT results_eq(
    $$ SELECT support_request_id, replayed FROM api.open_payment_support(9140, 'anything', 'tg-update:support-1') $$,
    $$ SELECT support_request_id, true FROM sup ORDER BY support_request_id LIMIT 1 $$,
    'a redelivered update replays the first ticket');
SELECT results_eq(
    $$ SELECT outcome, support_request_id, created_at, replayed
       FROM api.open_payment_support(9142, 'other user', 'tg-update:support-1') $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::timestamptz, false) $$,
    'the key of another user''s request is IDEMPOTENCY_CONFLICT');
SELECT is((SELECT count(*) FROM billing.support_requests WHERE user_id = 9142), 0::bigint,
          'a conflict opens no request');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM sup ORDER BY support_request_id $$,
    $$ VALUES ('OPENED', false), ('OPENED', false) $$,
    'a new request is OPENED');
SELECT results_eq(
    $$ SELECT k.request_hash, k.result FROM ops.idempotency_keys AS k
       WHERE k.scope = 'billing.open_payment_support' AND k.idempotency_key = 'tg-update:support-1' $$,
    $$ SELECT ops.request_hash(jsonb_build_array(9140::bigint)), to_jsonb(s) FROM sup AS s
       ORDER BY support_request_id LIMIT 1 $$,
    'the key is bound to its user and stores the answer whole');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, 'help', 'short') $$, 'SP422',
                 'invalid argument p_idempotency_key', 'a malformed key is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, '', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'an empty message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, '    ', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'a blank message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, NULL, 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'a missing message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9141, repeat('m', 2001), 'tg-update:support-x') $$, 'SP422',
                 'invalid argument p_message', 'a 2001-character message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(0, 'help', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_user_id',
                 'user id 0 is refused');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.support_requests), (SELECT count(*) FROM ops.alert_outbox
                                                                WHERE event = 'payments.support_request'),
              (SELECT count(*) FROM core.users WHERE user_id = 9141) $$,
    $$ VALUES (2::bigint, 2::bigint, 0::bigint) $$,
    'refusals store no request, raise no alert, create no user');

-- ---------------------------------------------------------------------------------------------
-- request_purchase_refund
CREATE TEMP TABLE p AS
SELECT pg_temp.buy('refund-paid', 9150, 'premium_30d') AS paid,
       pg_temp.buy('refund-done', 9150, 'premium_90d') AS refunded,
       (SELECT purchase_id FROM api.init_purchase(9150, 'premium_30d', NULL, 'refund-init')) AS init;
SELECT is((SELECT outcome FROM api.mark_purchase_refunded('charge-refund-done', 'support:anna', 'earlier refund')),
          'REFUNDED', 'one purchase was refunded before');
CREATE TEMP TABLE p_other AS
SELECT (SELECT purchase_id FROM api.init_purchase(9151, 'premium_30d', NULL, 'refund-cancel')) AS cancelled,
       (SELECT purchase_id FROM api.init_purchase(9151, 'premium_90d', NULL, 'refund-prechecked')) AS prechecked;
UPDATE billing.purchases SET status = 'CANCELLED', cancelled_at = ops.now()
WHERE purchase_id = (SELECT cancelled FROM p_other);
SELECT is((SELECT ok FROM api.precheckout_purchase(9151, (SELECT invoice_payload FROM billing.purchases
                                                          WHERE purchase_id = (SELECT prechecked FROM p_other)),
                                                   'XTR', 600)), true, 'one purchase passed pre-checkout');
CREATE TEMP TABLE audit_before AS SELECT count(*) AS n FROM ops.audit_log;

UPDATE ops.clock SET frozen_at = '2030-09-02 03:00:00+00';
CREATE TEMP TABLE rq AS SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', '  customer asked  ');
SELECT results_eq(
    $$ SELECT purchase_id, user_id, telegram_payment_charge_id, status, refund_request_id IS NOT NULL FROM rq $$,
    $$ VALUES ((SELECT paid FROM p), 9150::bigint, 'charge-refund-paid', 'PAID', true) $$,
    'a PAID purchase: what refundStarPayment needs and the refund request''s id');
SELECT results_eq(
    $$ SELECT r.purchase_id, r.requested_at, r.actor, r.reason FROM billing.refund_requests AS r
       WHERE r.refund_request_id = (SELECT refund_request_id FROM rq) $$,
    $$ VALUES ((SELECT paid FROM p), '2030-09-02 03:00:00+00'::timestamptz, 'support:ben', 'customer asked') $$,
    'the request is recorded (reason trimmed)');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, details FROM ops.audit_log
       WHERE action = 'billing.refund_requested' $$,
    $$ SELECT 'support:ben', 'billing.refund_requested', 'purchase', (SELECT paid FROM p)::text, 'customer asked',
              jsonb_build_object('refund_request_id', refund_request_id)
       FROM rq $$,
    'and audited billing.refund_requested');
SELECT is((SELECT status FROM billing.purchases WHERE purchase_id = (SELECT paid FROM p)), 'PAID',
          'the purchase stays PAID until Telegram confirms');
SELECT isnt((SELECT refund_request_id FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', 'retry')),
            (SELECT refund_request_id FROM rq), 'a retry while still PAID records another request');
SELECT results_eq(
    $$ SELECT purchase_id, user_id, telegram_payment_charge_id, status, refund_request_id
       FROM api.request_purchase_refund((SELECT refunded FROM p), 'support:ben', 'again') $$,
    $$ VALUES ((SELECT refunded FROM p), 9150::bigint, 'charge-refund-done', 'REFUNDED', NULL::bigint) $$,
    'a REFUNDED purchase: status REFUNDED and no request id');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.refund_requests WHERE purchase_id = (SELECT refunded FROM p)),
              (SELECT count(*) FROM ops.audit_log WHERE action = 'billing.refund_requested'
                                                    AND target_id = (SELECT refunded FROM p)::text) $$,
    $$ VALUES (0::bigint, 0::bigint) $$, 'which records nothing');

SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund(999999999, 'support:ben', 'x') $$,
                 'SP404', 'purchase not found', 'an unknown purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund(NULL, 'support:ben', 'x') $$,
                 'SP404', 'purchase not found', 'a missing purchase id is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT init FROM p), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'an INIT purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT prechecked FROM p_other), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'a PRECHECKOUT_OK purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT cancelled FROM p_other), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'a CANCELLED purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), NULL, 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a missing actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), '', 'x') $$,
                 'SP422', 'invalid argument p_actor', 'an empty actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), repeat('a', 129), 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a 129-character actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', NULL) $$,
                 'SP422', 'invalid argument p_reason', 'a missing reason is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', '   ') $$,
                 'SP422', 'invalid argument p_reason', 'a blank reason is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', repeat('r', 1001)) $$,
                 'SP422', 'invalid argument p_reason', 'a 1001-character reason is refused');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.refund_requests), (SELECT count(*) FROM ops.audit_log) $$,
    $$ SELECT 2::bigint, n + 2 FROM audit_before $$,
    'only the two requests of PAID purchases were recorded and audited; refusals wrote nothing');

-- ---------------------------------------------------------------------------------------------
-- claim_telegram_update and finish_telegram_update
UPDATE ops.clock SET frozen_at = '2030-09-10 00:00:00+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('NEW', 1) $$,
                  'a first delivery is NEW');
SELECT results_eq($$ SELECT received_at, handled_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:00:00+00'::timestamptz, NULL::timestamptz, 1) $$, 'and recorded');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:00:30+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('RETRY', 2) $$,
                  'a redelivery before handling finished is RETRY, attempt 2');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('RETRY', 3) $$,
                  'and attempt 3');
SELECT is(api.finish_telegram_update(700001), true, 'finishing a claimed update: true');
SELECT results_eq($$ SELECT received_at, handled_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:00:00+00'::timestamptz, '2030-09-10 00:00:30+00'::timestamptz, 3) $$,
                  'handled now; received_at is the first delivery''s');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:00+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('DUPLICATE', 3) $$,
                  'a redelivery after handling is DUPLICATE; attempts stay');
SELECT is(api.finish_telegram_update(700001), true, 'finishing again: true');
SELECT is((SELECT handled_at FROM core.telegram_updates WHERE update_id = 700001),
          '2030-09-10 00:00:30+00'::timestamptz, 'the first handling time is kept');
SELECT is(api.finish_telegram_update(700999), false, 'finishing an update never claimed: false');
SELECT is(api.finish_telegram_update(NULL), false, 'finishing no update: false');
SELECT is((SELECT count(*) FROM core.telegram_updates WHERE update_id = 700999), 0::bigint, 'and records nothing');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(0) $$, $$ VALUES ('NEW', 1) $$,
                  'update id 0 is a valid id');
SELECT throws_ok($$ SELECT * FROM api.claim_telegram_update(-1) $$, 'SP422', 'invalid argument p_update_id',
                 'a negative update id is refused');
SELECT throws_ok($$ SELECT * FROM api.claim_telegram_update(NULL) $$, 'SP422', 'invalid argument p_update_id',
                 'a missing update id is refused');
SELECT is((SELECT count(*) FROM core.telegram_updates), 2::bigint, 'refusals record nothing');

-- Pruning: entries received more than 7 days before a claim go, 100 per claim.
INSERT INTO core.telegram_updates (update_id, received_at, handled_at)
SELECT 800000 + i, '2030-09-03 00:01:00+00', CASE WHEN i % 2 = 0 THEN '2030-09-03 00:02:00+00'::timestamptz END
FROM generate_series(1, 150) AS i;
SELECT is((SELECT count(*) FROM core.telegram_updates), 152::bigint, '150 entries received on 2030-09-03');
SELECT is((SELECT outcome FROM api.claim_telegram_update(700002)), 'NEW', 'a claim on 2030-09-10 00:01 (7 days later)');
SELECT is((SELECT count(*) FROM core.telegram_updates WHERE update_id > 800000), 150::bigint,
          'exactly 7 days old: kept');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:01+00';
SELECT is((SELECT outcome FROM api.claim_telegram_update(700003)), 'NEW', 'a claim a moment later');
SELECT is((SELECT count(*) FROM core.telegram_updates WHERE update_id > 800000), 50::bigint,
          'prunes 100 of the entries older than 7 days, handled or not');
SELECT is((SELECT outcome FROM api.claim_telegram_update(700004)), 'NEW', 'the next claim');
SELECT results_eq(
    $$ SELECT update_id FROM core.telegram_updates ORDER BY update_id $$,
    $$ VALUES (0::bigint), (700001::bigint), (700002::bigint), (700003::bigint), (700004::bigint) $$,
    'prunes the rest; recent entries stay');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the bot scenarios');
-- A data-deletion request also clears what the user wrote to payment support (personal data,
-- not a financial record); the requests themselves stay.
SELECT results_eq($$ SELECT outcome FROM api.delete_user_data(9140) $$, $$ VALUES ('DELETED') $$,
                  'user 9140, who wrote to support, asks for deletion');
SELECT results_eq(
    $$ SELECT count(*), count(*) FILTER (WHERE message = '(deleted at the user''s request)')
       FROM billing.support_requests WHERE user_id = 9140 $$,
    $$ VALUES (2::bigint, 2::bigint) $$, 'the support requests stay, their text is gone');
SELECT * FROM finish();
ROLLBACK;
