-- api.list_promo_campaigns: filters, keyset pages that stay correct while rows are added.
BEGIN;
SELECT plan(14);
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-11-01 00:00:00+00';
CREATE TEMP TABLE c (n int, id bigint);
INSERT INTO c SELECT n, api.create_promo_code('LISTCODE' || n || 'WXYZ', CASE WHEN n % 2 = 0 THEN 'PREMIUM_GRANT' ELSE 'PERCENT_DISCOUNT' END,
                                           'Liste ' || n, p_grant_days => CASE WHEN n % 2 = 0 THEN 7 END,
                                           p_discount_percent => CASE WHEN n % 2 = 1 THEN 10 END,
                                           p_prefix => CASE WHEN n = 5 THEN 'LISTCODE5' END)
FROM generate_series(1, 6) AS n;
SELECT api.set_promo_campaign_status((SELECT id FROM c WHERE n = 3), 'PAUSED', 'ops', 'test');

SELECT results_eq($$ SELECT promo_code_id FROM api.list_promo_campaigns(p_limit => 3) $$,
                  $$ SELECT id FROM c ORDER BY id DESC LIMIT 3 $$, 'newest first, one page');
SELECT results_eq($$ SELECT promo_code_id FROM api.list_promo_campaigns(p_limit => 3,
                        p_before_id => (SELECT id FROM c WHERE n = 4)) $$,
                  $$ SELECT id FROM c WHERE n < 4 ORDER BY id DESC $$, 'the next page starts after the cursor');
-- A campaign created between two pages does not shift the next page.
SELECT api.create_promo_code('LISTCODE7XY', 'PREMIUM_GRANT', 'Liste 7', p_grant_days => 1);
SELECT results_eq($$ SELECT promo_code_id FROM api.list_promo_campaigns(p_limit => 3,
                        p_before_id => (SELECT id FROM c WHERE n = 4)) $$,
                  $$ SELECT id FROM c WHERE n < 4 ORDER BY id DESC $$, 'rows added meanwhile do not shift pages');
SELECT results_eq($$ SELECT campaign FROM api.list_promo_campaigns(p_status => ARRAY['PAUSED']) $$,
                  $$ VALUES ('Liste 3') $$, 'filter by status');
SELECT is((SELECT count(*) FROM api.list_promo_campaigns(p_status => ARRAY['ACTIVE', 'PAUSED'], p_kind => 'PREMIUM_GRANT')),
          4::bigint, 'several statuses and a kind');
SELECT results_eq($$ SELECT campaign FROM api.list_promo_campaigns(p_q => 'listcode5') $$,
                  $$ VALUES ('Liste 5') $$, 'search by prefix');
SELECT is((SELECT count(*) FROM api.list_promo_campaigns(p_q => 'liste')), 7::bigint, 'search by name, any case');
SELECT is_empty($$ SELECT * FROM api.list_promo_campaigns() WHERE campaign LIKE 'Referral reward%' $$,
                'the internal referral campaign is not listed');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_limit => 201) $$, 'SP422', 'invalid argument p_limit',
                 'at most 200 per page');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_status => ARRAY['GONE']) $$, 'SP422',
                 'invalid argument p_status', 'an unknown status is refused');
-- What the HTTP layer used to check again before calling: the function refuses it itself.
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_limit => 0) $$, 'SP422', 'invalid argument p_limit',
                 'at least 1 per page');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_kind => 'STARS') $$, 'SP422',
                 'invalid argument p_kind', 'an unknown kind is refused');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_q => '') $$, 'SP422',
                 'invalid argument p_q', 'an empty search is refused');
SELECT throws_ok($$ SELECT * FROM api.list_promo_campaigns(p_q => repeat('é', 101)) $$, 'SP422',
                 'invalid argument p_q', 'a search is at most 100 characters');
SELECT * FROM finish();
ROLLBACK;
