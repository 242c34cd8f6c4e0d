-- Allowed values stated once (migration 0019): the domains, ops.check_value, and the column
-- CHECKs that cast to the domains.
BEGIN;
SELECT plan(23);

SELECT is(ops.domain_values('promo.campaign_kind'), ARRAY['PREMIUM_GRANT', 'PERCENT_DISCOUNT'],
          'domain_values reads a domain''s CHECK, in order');
SELECT is(ops.domain_values('billing.purchase_status'),
          ARRAY['INIT', 'PRECHECKOUT_OK', 'PAID', 'REFUNDED', 'CANCELLED'], 'purchase statuses');
SELECT is(ops.domain_values('text'), NULL, 'a type without a CHECK has no listed values');

SELECT lives_ok($$ SELECT ops.check_value('PAUSED'::text, 'promo.campaign_status', 'p_status') $$,
                'an allowed value passes');
SELECT lives_ok($$ SELECT ops.check_value(ARRAY['ACTIVE', 'DEPLETED'], 'promo.campaign_status', 'p_status') $$,
                'allowed values pass');
SELECT lives_ok($$ SELECT ops.check_value('{}'::text[], 'promo.campaign_status', 'p_status') $$,
                'no values pass');
SELECT throws_ok($$ SELECT ops.check_value('GONE'::text, 'promo.campaign_status', 'p_status') $$,
                 'SP422', 'invalid argument p_status', 'an unknown value is refused');
SELECT throws_ok($$ SELECT ops.check_value('paused'::text, 'promo.campaign_status', 'p_status') $$,
                 'SP422', 'invalid argument p_status', 'values are case-sensitive');
SELECT throws_ok($$ SELECT ops.check_value(NULL::text, 'promo.campaign_status', 'p_status') $$,
                 'SP422', 'invalid argument p_status', 'NULL is refused');
SELECT throws_ok($$ SELECT ops.check_value(ARRAY['ACTIVE', NULL], 'promo.campaign_status', 'p_status') $$,
                 'SP422', 'invalid argument p_status', 'a NULL element is refused');
SELECT throws_ok($$ SELECT ops.check_value(NULL::text[], 'promo.campaign_status', 'p_status') $$,
                 'SP422', 'invalid argument p_status', 'a NULL array is refused');

CREATE FUNCTION pg_temp.refusal(p_sql text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_detail  text;
    v_hint    text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'SP422' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN ARRAY[v_detail, v_hint];
END
$$;
SELECT is(pg_temp.refusal($$ SELECT ops.check_value(ARRAY['ACTIVE', 'GONE'], 'promo.campaign_status', 'p_status') $$),
          ARRAY['''GONE'' is not a promo.campaign_status', 'Use one of ACTIVE, PAUSED, EXPIRED, DEPLETED.'],
          'the refusal names the value and lists the allowed ones');
SELECT is(pg_temp.refusal($$ SELECT ops.check_value(NULL::text, 'referral.reward_choice', 'p_choice') $$),
          ARRAY['NULL is not a referral.reward_choice', 'Use one of PREMIUM_DAYS, DISCOUNT.'],
          'a NULL is named as such');

-- The columns refuse what their domain refuses (23514), and keep type text.
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
CREATE TEMP TABLE cd AS SELECT api.create_promo_code('DOMAINCODE1', 'PREMIUM_GRANT', 'Domains', p_grant_days => 7) AS id;
SELECT throws_ok($$ UPDATE promo.promo_codes SET status = 'GONE' WHERE promo_code_id = (SELECT id FROM cd) $$,
                 '23514', NULL, 'promo_codes.status refuses a value outside promo.campaign_status');
SELECT throws_ok($$ UPDATE promo.promo_codes SET kind = 'STARS', grant_days = 7 WHERE promo_code_id = (SELECT id FROM cd) $$,
                 '23514', NULL, 'promo_codes.kind refuses a value outside promo.campaign_kind');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = 'promo.promo_codes'::regclass AND attname = 'status'), 'text',
          'the column stays text');
SELECT results_eq(
    $$ SELECT format('%s.%s', conrelid::regclass, conname) COLLATE "default", d.refobjid::regtype::text
       FROM pg_constraint AS c
       JOIN pg_depend AS d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
                          AND d.refclassid = 'pg_type'::regclass
       WHERE c.contype = 'c' AND c.conrelid <> 0 AND d.refobjid::regtype::text ~ '^(promo|billing|referral)\.'
       ORDER BY 1 $$,
    $$ VALUES ('billing.payments.payments_outcome_check', 'billing.payment_outcome'),
              ('billing.purchases.purchases_status_check', 'billing.purchase_status'),
              ('promo.promo_attempts.promo_attempts_outcome_check', 'promo.redeem_outcome'),
              ('promo.promo_codes.promo_codes_kind_check', 'promo.campaign_kind'),
              ('promo.promo_codes.promo_codes_status_check', 'promo.campaign_status'),
              ('promo.promo_redemptions.promo_redemptions_kind_check', 'promo.campaign_kind'),
              ('promo.promo_redemptions.promo_redemptions_status_check', 'promo.redemption_status'),
              ('referral.rewards.rewards_choice_check', 'referral.reward_choice'),
              ('referral.rewards.rewards_status_check', 'referral.reward_status') $$,
    'each status, kind, outcome and choice column checks against its domain');
SELECT is((SELECT pg_typeof(l.kind)::text || ' ' || pg_typeof(l.status)::text
           FROM api.list_promo_campaigns(p_limit => 1) AS l), 'text text',
          'api results stay text');

-- The functions check against the domains.
SELECT throws_ok($$ SELECT api.create_promo_code('DOMAINCODE2', 'STARS', 'Domains', p_grant_days => 7) $$,
                 'SP422', 'invalid argument p_kind', 'create_promo_code: an unknown kind');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_kind => 'STARS') $$,
                 'SP422', 'invalid argument p_kind', 'list_promo_campaigns: an unknown kind');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_status => ARRAY['ACTIVE', NULL]) $$,
                 'SP422', 'invalid argument p_status', 'list_promo_campaigns: a NULL status');
SELECT throws_ok($$ SELECT * FROM api.choose_referral_reward(1, 1, 'STARS') $$,
                 'SP422', 'invalid argument p_choice', 'choose_referral_reward: an unknown choice');
SELECT is(pg_temp.refusal($$ SELECT api.create_promo_code('DOMAINCODE3', NULL, 'Domains', p_grant_days => 7) $$),
          ARRAY['NULL is not a promo.campaign_kind', 'Use one of PREMIUM_GRANT, PERCENT_DISCOUNT.'],
          'a missing kind is refused with the allowed ones');
SELECT * FROM finish();
ROLLBACK;
