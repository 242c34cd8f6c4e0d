-- The bot's api.quote_discount (a reservation's price per plan) and api.delete_user_data.
-- Every outcome and every refusal, with the injectable clock.
BEGIN;
SELECT plan(30);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

-- Users 9101-9199; pg_temp.buy (helpers.psql) makes paid purchases.
CREATE TEMP TABLE greet (label text PRIMARY KEY, created boolean, referral_outcome text, is_premium boolean,
                         premium_until timestamptz, referral_code text, terms_version text, terms_accepted boolean,
                         plans jsonb);
CREATE FUNCTION pg_temp.g(p_label text) RETURNS greet
LANGUAGE sql STABLE AS $$ SELECT * FROM greet WHERE label = p_label $$;

UPDATE ops.clock SET frozen_at = '2030-09-01 02:00:00+00';

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


SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after these scenarios');
SELECT * FROM finish();
ROLLBACK;
