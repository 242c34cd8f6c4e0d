-- api.get_promo_campaign (live figures, effective status), the redemption state machine and the
-- append-only attempt log.
BEGIN;
SELECT plan(27);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

INSERT INTO camp VALUES
    ('discount',  api.create_promo_code('CAMPAIGN-DISC-20', 'PERCENT_DISCOUNT', 'June discount',
                                        p_discount_percent => 20, p_max_uses => 10,
                                        p_ends_at => '2030-07-01 00:00:00+00', p_actor => 'ops-carla')),
    ('grant',     api.create_promo_code('CAMPAIGN-GRANT-07', 'PREMIUM_GRANT', 'June grant', p_grant_days => 7,
                                        p_max_uses => 5)),
    ('unlimited', api.create_promo_code('CAMPAIGN-UNLIMITED', 'PREMIUM_GRANT', 'June unlimited',
                                        p_grant_days => 1));

SELECT results_eq(
    $$ SELECT promo_code_id, campaign, kind, grant_days, discount_percent, max_uses, per_user_limit, starts_at,
              ends_at, prefix, status, effective_status, paused_reason, created_at, created_by,
              used_total, applied, live_reservations, consumed, revoked, capacity_left, failed_attempts_24h
       FROM api.get_promo_campaign(pg_temp.cid('discount')) $$,
    $$ VALUES (pg_temp.cid('discount'), 'June discount', 'PERCENT_DISCOUNT', NULL::integer, 20, 10, 1,
               '2030-06-01 00:00:00+00'::timestamptz, '2030-07-01 00:00:00+00'::timestamptz, NULL::text,
               'ACTIVE', 'ACTIVE', NULL::text, '2030-06-01 00:00:00+00'::timestamptz, 'ops-carla',
               0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 10::bigint, 0::bigint) $$,
    'a fresh campaign: its fields and empty figures');

-- Day 1: a reservation that will lapse, and a counted refusal that will age out of 24 h.
INSERT INTO res SELECT 'stale', * FROM api.redeem_promo_code(5101, 'CAMPAIGN-DISC-20', 'key-5101-first');
UPDATE promo.promo_codes SET status = 'PAUSED', paused_at = '2030-06-01 00:00:00+00', paused_reason = 'x'
WHERE promo_code_id = pg_temp.cid('discount');
SELECT results_eq(
    $$ SELECT status, effective_status, paused_reason FROM api.get_promo_campaign(pg_temp.cid('discount')) $$,
    $$ VALUES ('PAUSED', 'PAUSED', 'x') $$, 'a paused campaign shows its status and reason');
INSERT INTO res SELECT 'paused', * FROM api.redeem_promo_code(5109, 'CAMPAIGN-DISC-20', 'key-5109-paused');
UPDATE promo.promo_codes SET status = 'ACTIVE', paused_at = NULL, paused_reason = NULL
WHERE promo_code_id = pg_temp.cid('discount');
SELECT is((SELECT failed_attempts_24h FROM api.get_promo_campaign(pg_temp.cid('discount'))), 1::bigint,
          'the PAUSED refusal is a failed attempt of the campaign');

-- Day 2 (25 hours later).
UPDATE ops.clock SET frozen_at = '2030-06-02 01:00:00+00';
INSERT INTO res SELECT 'live 1', * FROM api.redeem_promo_code(5102, 'CAMPAIGN-DISC-20', 'key-5102-first');
INSERT INTO res SELECT 'consumed', * FROM api.redeem_promo_code(5103, 'CAMPAIGN-DISC-20', 'key-5103-first');
INSERT INTO res SELECT 'revoked', * FROM api.redeem_promo_code(5104, 'CAMPAIGN-DISC-20', 'key-5104-first');
INSERT INTO res SELECT 'live 2', * FROM api.redeem_promo_code(5105, 'CAMPAIGN-DISC-20', 'key-5105-first');
-- The purchase path (not under test here): a paid reservation becomes CONSUMED, its unit used.
UPDATE promo.promo_redemptions SET status = 'CONSUMED', consumed_at = '2030-06-02 01:00:00+00'
WHERE promo_redemption_id IN (pg_temp.rid('consumed'), pg_temp.rid('revoked'));
SELECT lives_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'REVOKED', revoked_at = '2030-06-02 01:00:00+00',
                                                  revoked_reason = 'refund'
              WHERE promo_redemption_id = %s $$, pg_temp.rid('revoked')),
    'CONSUMED -> REVOKED is allowed');
INSERT INTO res SELECT 'again', * FROM api.redeem_promo_code(5103, 'CAMPAIGN-DISC-20', 'key-5103-again');
INSERT INTO res SELECT 'again replay', * FROM api.redeem_promo_code(5103, 'CAMPAIGN-DISC-20', 'key-5103-again');
INSERT INTO res SELECT 'not found', * FROM api.redeem_promo_code(5108, 'CAMPAIGN-NONE-00', 'key-5108-none');
INSERT INTO res SELECT 'grant 1', * FROM api.redeem_promo_code(5106, 'CAMPAIGN-GRANT-07', 'key-5106-grant');
INSERT INTO res SELECT 'grant 2', * FROM api.redeem_promo_code(5107, 'CAMPAIGN-GRANT-07', 'key-5107-grant');
INSERT INTO res SELECT 'grant again', * FROM api.redeem_promo_code(5106, 'CAMPAIGN-GRANT-07', 'key-5106-again');
INSERT INTO res SELECT 'unlimited', * FROM api.redeem_promo_code(5106, 'CAMPAIGN-UNLIMITED', 'key-5106-unlimited');
SELECT results_eq(
    $$ SELECT label, outcome FROM res ORDER BY label $$,
    $$ VALUES ('again', 'ALREADY_REDEEMED'), ('again replay', 'ALREADY_REDEEMED'), ('consumed', 'RESERVED'),
              ('grant 1', 'APPLIED'), ('grant 2', 'APPLIED'), ('grant again', 'ALREADY_REDEEMED'),
              ('live 1', 'RESERVED'), ('live 2', 'RESERVED'), ('not found', 'NOT_FOUND'), ('paused', 'PAUSED'),
              ('revoked', 'RESERVED'), ('stale', 'RESERVED'), ('unlimited', 'APPLIED') $$,
    'the scenario''s redemptions went as planned');

SELECT results_eq(
    $$ SELECT status, effective_status, used_total, applied, live_reservations, consumed, revoked, capacity_left,
              failed_attempts_24h
       FROM api.get_promo_campaign(pg_temp.cid('discount')) $$,
    $$ VALUES ('ACTIVE', 'ACTIVE', 2::bigint, 0::bigint, 2::bigint, 1::bigint, 1::bigint, 6::bigint, 1::bigint) $$,
    'discount figures: 2 used (consumed + revoked), 2 live reservations (the lapsed one excluded), '
    '6 left, 1 counted failure in 24 h (not the older one, not the replay)');
SELECT results_eq(
    $$ SELECT used_total, applied, live_reservations, consumed, revoked, capacity_left, failed_attempts_24h
       FROM api.get_promo_campaign(pg_temp.cid('grant')) $$,
    $$ VALUES (2::bigint, 2::bigint, 0::bigint, 0::bigint, 0::bigint, 3::bigint, 1::bigint) $$,
    'grant figures: 2 applied, 3 left, 1 failure (failures of other campaigns do not count)');
SELECT results_eq(
    $$ SELECT max_uses, used_total, applied, capacity_left FROM api.get_promo_campaign(pg_temp.cid('unlimited')) $$,
    $$ VALUES (NULL::integer, 1::bigint, 1::bigint, NULL::bigint) $$,
    'an unlimited campaign has no capacity_left');
SELECT is_empty(
    $$ SELECT c.* FROM camp, LATERAL api.get_promo_campaign(camp.id) AS c
       WHERE regexp_replace(upper(row_to_json(c)::text), '[^A-Z0-9]', '', 'g') ~ 'CAMPAIGNDISC20|CAMPAIGNGRANT07|CAMPAIGNUNLIMITED' $$,
    'get_promo_campaign never shows a code');

SELECT throws_ok($$ SELECT * FROM api.get_promo_campaign(987654321) $$, 'SP404', 'promo campaign not found',
                 'an unknown campaign id is refused');
SELECT throws_ok($$ SELECT * FROM api.get_promo_campaign(NULL) $$, 'SP404', 'promo campaign not found',
                 'a missing campaign id is refused');

-- The status column says ACTIVE, but ends_at has passed.
UPDATE ops.clock SET frozen_at = '2030-07-01 00:00:00+00';
SELECT results_eq(
    $$ SELECT status, effective_status, used_total, live_reservations, capacity_left, failed_attempts_24h
       FROM api.get_promo_campaign(pg_temp.cid('discount')) $$,
    $$ VALUES ('ACTIVE', 'EXPIRED', 2::bigint, 0::bigint, 8::bigint, 0::bigint) $$,
    'at ends_at the effective status is EXPIRED; lapsed reservations no longer count');
SELECT is((SELECT effective_status FROM api.get_promo_campaign(pg_temp.cid('grant'))), 'ACTIVE',
          'a campaign without ends_at stays ACTIVE');

-- The redemption state machine.
SELECT lives_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'EXPIRED', expired_at = '2030-07-01 00:00:00+00'
              WHERE promo_redemption_id = %s $$, pg_temp.rid('stale')),
    'RESERVED -> EXPIRED is allowed');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'CONSUMED', consumed_at = '2030-07-01 00:00:00+00',
                                                  expired_at = NULL
              WHERE promo_redemption_id = %s $$, pg_temp.rid('stale')),
    'SP409', 'forbidden redemption transition', 'EXPIRED -> CONSUMED is forbidden');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'RESERVED' WHERE promo_redemption_id = %s $$,
           pg_temp.rid('stale')),
    'SP409', 'forbidden redemption transition', 'EXPIRED -> RESERVED is forbidden');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'APPLIED', revoked_at = NULL
              WHERE promo_redemption_id = %s $$, pg_temp.rid('revoked')),
    'SP409', 'forbidden redemption transition', 'REVOKED -> APPLIED is forbidden');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'RESERVED' WHERE promo_redemption_id = %s $$,
           pg_temp.rid('consumed')),
    'SP409', 'forbidden redemption transition', 'CONSUMED -> RESERVED is forbidden');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET user_id = 5107 WHERE promo_redemption_id = %s $$,
           pg_temp.rid('grant 1')),
    'SP409', 'redemption identity is immutable', 'the user of a redemption cannot change');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET promo_code_id = %s WHERE promo_redemption_id = %s $$,
           pg_temp.cid('unlimited'), pg_temp.rid('grant 1')),
    'SP409', 'redemption identity is immutable', 'the campaign of a redemption cannot change');
SELECT throws_ok(
    format($$ UPDATE promo.promo_redemptions SET created_at = created_at - interval '1 day'
              WHERE promo_redemption_id = %s $$, pg_temp.rid('grant 1')),
    'SP409', 'redemption identity is immutable', 'the creation time of a redemption cannot change');
SELECT lives_ok(
    format($$ UPDATE promo.promo_redemptions SET status = 'REVOKED', revoked_at = '2030-07-01 00:00:00+00',
                                                  revoked_reason = 'fraud'
              WHERE promo_redemption_id = %s $$, pg_temp.rid('grant 1')),
    'APPLIED -> REVOKED is allowed');
SELECT results_eq(
    $$ SELECT promo_redemption_id, user_id, status FROM promo.promo_redemptions
       WHERE promo_redemption_id IN (pg_temp.rid('stale'), pg_temp.rid('grant 1')) ORDER BY 1 $$,
    format($$ VALUES (%s::bigint, 5101::bigint, 'EXPIRED'), (%s::bigint, 5106::bigint, 'REVOKED') $$,
           pg_temp.rid('stale'), pg_temp.rid('grant 1')),
    'refused changes left the redemptions as they were');

-- The attempt log is append-only.
SELECT throws_ok($$ UPDATE promo.promo_attempts SET outcome = 'APPLIED' WHERE outcome = 'PAUSED' $$,
                 'SP409', 'promo.promo_attempts is append-only', 'an attempt cannot be rewritten');
SELECT throws_ok($$ UPDATE promo.promo_attempts SET counted = false, outcome = 'RESERVED' WHERE counted $$,
                 'SP409', 'promo.promo_attempts is append-only', 'a counted failure cannot be uncounted');

-- Redemptions were consumed by hand above, without the purchase that would pay for them.
SELECT is_empty($$ SELECT * FROM api.check_invariants() WHERE invariant <> 'redemption_paid_once' $$,
                'every other invariant holds after the scenario');
SELECT bag_eq($$ SELECT subject FROM api.check_invariants() $$,
              $$ SELECT 'redemption ' || promo_redemption_id FROM promo.promo_redemptions
                 WHERE status IN ('CONSUMED', 'REVOKED') AND kind = 'PERCENT_DISCOUNT' $$,
              'and the hand-consumed reservations are reported as paid by no purchase');

SELECT * FROM finish();
ROLLBACK;
