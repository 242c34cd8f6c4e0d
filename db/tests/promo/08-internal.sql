-- The internal referral discount campaign (promo_codes.internal): found by
-- referral.discount_campaign_id() through the column, hidden from the listing, not found by
-- api.get_promo_campaign, refused by api.set_promo_campaign_status, ignored by the rotation
-- check of api.create_promo_code; there is only one.
BEGIN;
SELECT plan(14);
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-12-01 00:00:00+00';

SELECT is((SELECT count(*) FROM promo.promo_codes WHERE internal), 1::bigint,
          'the migration marks exactly one campaign internal');
SELECT is(referral.discount_campaign_id(), (SELECT promo_code_id FROM promo.promo_codes WHERE internal),
          'referral.discount_campaign_id() is the internal campaign');
-- Neither the sentinel fingerprint nor the name is what identifies it.
UPDATE promo.promo_codes SET campaign = 'Renamed referral discount', pepper_id = '\x0102030405060708'
WHERE internal;
SELECT is(referral.discount_campaign_id(), (SELECT promo_code_id FROM promo.promo_codes WHERE internal),
          'it is found by the column, whatever its name and fingerprint');
SELECT lives_ok($$ SELECT api.create_promo_code('INTERNAL-CHECK-01', 'PREMIUM_GRANT', 'internal check',
                                                 p_grant_days => 1) $$,
                'the rotation check ignores the internal campaign''s fingerprint');
SELECT throws_ok($$ INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, discount_percent,
                                                   per_user_limit, starts_at, created_at, created_by,
                                                   updated_at, internal)
                    VALUES ('second', extensions.gen_random_bytes(32), '\x0000000000000000', 'PERCENT_DISCOUNT',
                            10, 1, now(), now(), 'test', now(), true) $$,
                 '23505', NULL, 'there is only one internal campaign');

-- Admins do not see it.
SELECT is_empty($$ SELECT * FROM api.list_promo_campaigns(p_limit => 200)
                   WHERE promo_code_id = referral.discount_campaign_id() $$,
                'the listing does not show it');
SELECT is_empty($$ SELECT * FROM api.list_promo_campaigns(p_q => 'referral') $$,
                'nor does a search for its name');
SELECT throws_ok($$ SELECT * FROM api.get_promo_campaign(referral.discount_campaign_id()) $$,
                 'SP404', 'promo campaign not found', 'reading it answers as for a campaign that does not exist');

-- And cannot change its status: a pause would have no effect (it has no code).
CREATE TEMP TABLE before AS
SELECT (SELECT row_to_json(c)::text FROM promo.promo_codes AS c WHERE internal) AS campaign,
       (SELECT count(*) FROM ops.audit_log) AS audits;
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(referral.discount_campaign_id(), 'PAUSED',
                                                                 'ops-dana', 'try') $$,
                 'SP409', 'campaign is internal', 'pausing it is refused');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(referral.discount_campaign_id(), 'ACTIVE',
                                                                 'ops-dana') $$,
                 'SP409', 'campaign is internal', 'so is resuming it, even to its own status');
CREATE FUNCTION pg_temp.refusal(p_status text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
    v_hint   text;
BEGIN
    PERFORM api.set_promo_campaign_status(referral.discount_campaign_id(), p_status, 'ops-dana', 'try');
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'SP409' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN ARRAY[v_detail, v_hint];
END
$$;
SELECT is((pg_temp.refusal('PAUSED'))[1],
          format('campaign %s holds the DISCOUNT referral rewards; it has no code to pause',
                 referral.discount_campaign_id()),
          'the refusal says which campaign and why');
SELECT isnt((pg_temp.refusal('PAUSED'))[2], NULL, 'and has a hint');
SELECT results_eq($$ SELECT (SELECT row_to_json(c)::text FROM promo.promo_codes AS c WHERE internal),
                            (SELECT count(*) FROM ops.audit_log) $$,
                  $$ SELECT campaign, audits FROM before $$,
                  'the refusals changed nothing and audited nothing');
SELECT is((SELECT status FROM promo.promo_codes WHERE internal), 'ACTIVE', 'it stays ACTIVE');

SELECT * FROM finish();
ROLLBACK;
