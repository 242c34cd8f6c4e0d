-- api.check_pepper: does the session's pepper (or the previous one) match the fingerprints of
-- the live campaigns? Every outcome, the internal referral campaign ignored, ended campaigns
-- ignored, and the refusal without a pepper.
BEGIN;
SELECT plan(20);

-- A live campaign hashed under the given pepper (as create_promo_code would store it).
CREATE FUNCTION pg_temp.campaign_under(p_pepper text, p_name text, p_status text DEFAULT 'ACTIVE')
RETURNS void LANGUAGE sql AS $$
    INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, grant_days, max_uses,
                                   per_user_limit, starts_at, status, expired_at,
                                   created_at, created_by, updated_at)
    VALUES (p_name, promo.hmac(p_name, convert_to(p_pepper, 'UTF8')),
            promo.pepper_id(convert_to(p_pepper, 'UTF8')), 'PREMIUM_GRANT', 30, 1, 1, now(), p_status,
            CASE WHEN p_status = 'EXPIRED' THEN now() END, now(), 'pgtap', now())
$$;

-- Sets the session's peppers (NULL previous: no rotation) and returns the check's row.
CREATE FUNCTION pg_temp.check(p_current text, p_previous text DEFAULT NULL)
RETURNS TABLE (ok boolean, outcome text, current_matches boolean, previous_matches boolean, other_peppers integer)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('promo.pepper', p_current, true);
    PERFORM set_config('promo.pepper_previous', coalesce(p_previous, ''), true);
    RETURN QUERY SELECT * FROM api.check_pepper();
END
$$;


-- No campaigns: only the internal referral campaign, which has no code and no real pepper.
SELECT isnt(referral.discount_campaign_id(), NULL, 'the internal referral campaign exists (it must be ignored)');
SELECT is((SELECT count(*) FROM promo.promo_codes
           WHERE promo_code_id IS DISTINCT FROM referral.discount_campaign_id()), 0::bigint,
          'precondition: no campaign but the internal one');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'NO_CAMPAIGNS', false, false, 0) $$,
    'no campaigns: any pepper is fine (NO_CAMPAIGNS, the internal campaign ignored)');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef', 'pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'NO_CAMPAIGNS', false, false, 0) $$,
    'no campaigns: any previous pepper is fine too');

-- Ended campaigns do not count: their codes can no longer be redeemed.
SELECT pg_temp.campaign_under('pepper-c-0123456789-0123456789-abcdef', 'ended under c', 'EXPIRED');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'NO_CAMPAIGNS', false, false, 0) $$,
    'an EXPIRED campaign under another pepper is not a campaign in use');

-- Campaigns under pepper a.
SELECT pg_temp.campaign_under('pepper-a-0123456789-0123456789-abcdef', 'live under a');
SELECT pg_temp.campaign_under('pepper-a-0123456789-0123456789-abcdef', 'paused under a', 'ACTIVE');
UPDATE promo.promo_codes SET status = 'PAUSED', paused_at = now(), paused_reason = 'pgtap'
WHERE campaign = 'paused under a';
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'MATCH', true, false, 0) $$,
    'the right pepper: MATCH');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (false, 'MISMATCH', false, false, 1) $$,
    'a wrong pepper without a previous one: MISMATCH, not ok');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef', 'pepper-c-0123456789-0123456789-abcdef') $$,
    $$ VALUES (false, 'MISMATCH', false, false, 1) $$,
    'a wrong pepper and a wrong previous pepper: MISMATCH');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef', 'pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'MATCH', false, true, 0) $$,
    'a rotation just begun (new pepper, no campaign under it yet, the previous matches): MATCH');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef', 'pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'MATCH', true, false, 0) $$,
    'a previous pepper that no live campaign uses any more: MATCH');

-- The paused campaign alone is enough: PAUSED campaigns are in use.
UPDATE promo.promo_codes SET status = 'EXPIRED', expired_at = now() WHERE campaign = 'live under a';
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (false, 'MISMATCH', false, false, 1) $$,
    'a PAUSED campaign counts as in use');
UPDATE promo.promo_codes SET status = 'ACTIVE', expired_at = NULL WHERE campaign = 'live under a';

-- Campaigns under a and b: a rotation from a to b.
SELECT pg_temp.campaign_under('pepper-b-0123456789-0123456789-abcdef', 'live under b');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef', 'pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'MATCH', true, true, 0) $$,
    'during a rotation both peppers match: MATCH');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'UNKNOWN_PEPPER', true, false, 1) $$,
    'a rotation without PROMO_SECRET_PEPPER_PREVIOUS: UNKNOWN_PEPPER (ok, a warning)');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'UNKNOWN_PEPPER', true, false, 1) $$,
    'the old pepper alone still matches its campaigns: UNKNOWN_PEPPER');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-a-0123456789-0123456789-abcdef', 'pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'MATCH', true, true, 0) $$,
    'current and previous swapped: both still match');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-c-0123456789-0123456789-abcdef', 'pepper-b-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'UNKNOWN_PEPPER', false, true, 1) $$,
    'only the previous pepper matches some campaigns, others use a third: UNKNOWN_PEPPER');

-- A third pepper: two rotations, the oldest never finished.
SELECT pg_temp.campaign_under('pepper-c-0123456789-0123456789-abcdef', 'live under c');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-b-0123456789-0123456789-abcdef', 'pepper-a-0123456789-0123456789-abcdef') $$,
    $$ VALUES (true, 'UNKNOWN_PEPPER', true, true, 1) $$,
    'campaigns under a pepper that is neither current nor previous: UNKNOWN_PEPPER');
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-d-0123456789-0123456789-abcdef') $$,
    $$ VALUES (false, 'MISMATCH', false, false, 3) $$,
    'a pepper no campaign uses: MISMATCH, counting the three peppers in use');

-- Many campaigns under one pepper are still one fingerprint.
INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, grant_days, max_uses,
                               per_user_limit, starts_at, created_at, created_by, updated_at)
SELECT 'bulk ' || i, promo.hmac('bulk' || i, convert_to('pepper-a-0123456789-0123456789-abcdef', 'UTF8')), promo.pepper_id(convert_to('pepper-a-0123456789-0123456789-abcdef', 'UTF8')),
       'PREMIUM_GRANT', 30, 1, 1, now(), now(), 'pgtap', now()
FROM generate_series(1, 500) AS i;
SELECT results_eq($$ SELECT * FROM pg_temp.check('pepper-d-0123456789-0123456789-abcdef') $$,
    $$ VALUES (false, 'MISMATCH', false, false, 3) $$,
    'other_peppers counts fingerprints, not campaigns');

-- The refusal: no pepper in the session.
SELECT set_config('promo.pepper', '', true);
SELECT throws_ok($$ SELECT * FROM api.check_pepper() $$, 'SP500', 'promo.pepper is not set',
                 'without promo.pepper the check refuses (SP500)');

SELECT * FROM finish();
ROLLBACK;
