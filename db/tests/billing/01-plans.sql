-- api.list_plans: the seeded plans, in order, and withdrawn plans.
BEGIN;
SELECT plan(4);

SELECT results_eq(
    $$ SELECT plan_code, premium_days, price_stars, currency, is_active FROM api.list_plans() $$,
    $$ VALUES ('premium_30d', 30, 250, 'XTR', true),
              ('premium_90d', 90, 600, 'XTR', true),
              ('premium_365d', 365, 2000, 'XTR', true) $$,
    'the three seeded plans, in display order');
SELECT is_empty($$ SELECT plan_code FROM api.list_plans()
                   WHERE char_length(title) NOT BETWEEN 1 AND 32
                      OR char_length(description) NOT BETWEEN 1 AND 255 $$,
                'titles and descriptions fit Telegram''s invoice limits');

UPDATE billing.plans SET is_active = false WHERE plan_code = 'premium_90d';
SELECT results_eq($$ SELECT plan_code FROM api.list_plans() $$,
                  $$ VALUES ('premium_30d'), ('premium_365d') $$, 'a withdrawn plan is not on sale');
SELECT results_eq($$ SELECT plan_code, is_active FROM api.list_plans(p_include_inactive => true) $$,
                  $$ VALUES ('premium_30d', true), ('premium_90d', false), ('premium_365d', true) $$,
                  'but is listed on request');

SELECT * FROM finish();
ROLLBACK;
