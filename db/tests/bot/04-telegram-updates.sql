-- The webhook's once-only handling: api.claim_telegram_update and api.finish_telegram_update,
-- and the pruning of old entries, with the injectable clock.
BEGIN;
SELECT plan(43);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';



-- ---------------------------------------------------------------------------------------------
-- claim_telegram_update and finish_telegram_update
UPDATE ops.clock SET frozen_at = '2030-09-10 00:00:00+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('NEW', 1) $$,
                  'a first delivery is NEW');
SELECT results_eq($$ SELECT received_at, handled_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:00:00+00'::timestamptz, NULL::timestamptz, 1) $$, 'and recorded');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:00:30+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('BUSY', 1) $$,
                  'a redelivery while the first holds its lease (90 s) is BUSY');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:29.999+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('BUSY', 1) $$,
                  'still BUSY just before the lease ends; attempts unchanged');
SELECT results_eq($$ SELECT claimed_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:00:00+00'::timestamptz, 1) $$, 'a BUSY claim takes nothing');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:30+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('RETRY', 2) $$,
                  'once the lease has run out, a redelivery is RETRY, attempt 2');
SELECT results_eq($$ SELECT claimed_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:01:30+00'::timestamptz, 2) $$, 'and takes the lease');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('BUSY', 2) $$,
                  'so the next delivery at once is BUSY again');
SELECT is((SELECT changed FROM api.set_setting('core.telegram_update_lease', '10 seconds', 'test')), true,
          'the lease is a setting');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:40+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('RETRY', 3) $$,
                  'a shorter lease runs out sooner: RETRY, attempt 3');
-- A failed handling gives its lease back: the next delivery is RETRY at once, not BUSY.
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(600001) $$, $$ VALUES ('NEW', 1) $$, 'another update, NEW');
SELECT is(api.release_telegram_update(600001, 2), false, 'a release by a claim that does not hold the lease: false');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(600001) $$, $$ VALUES ('BUSY', 1) $$, 'and the lease holds');
SELECT is(api.release_telegram_update(600001, 1), true, 'the holding claim releases: true');
SELECT is((SELECT claimed_at FROM core.telegram_updates WHERE update_id = 600001), NULL, 'no delivery holds it');
SELECT is(api.release_telegram_update(600001, 1), false, 'releasing again: false');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(600001) $$, $$ VALUES ('RETRY', 2) $$,
                  'the next delivery at once is RETRY, attempt 2');
SELECT is(api.release_telegram_update(600001, 1), false, 'the first claim cannot release the second''s lease');
SELECT is(api.finish_telegram_update(600001), true, 'the second finishes');
SELECT is(api.release_telegram_update(600001, 2), false, 'a handled update has no lease to release');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(600001) $$, $$ VALUES ('DUPLICATE', 2) $$, 'it stays handled');
SELECT is(api.release_telegram_update(699999, 1), false, 'releasing an update never claimed: false');
SELECT throws_ok($$ SELECT api.release_telegram_update(-1, 1) $$, 'SP422', 'invalid argument p_update_id',
                 'a negative update id is refused');
SELECT throws_ok($$ SELECT api.release_telegram_update(600001, 0) $$, 'SP422', 'invalid argument p_attempts',
                 'attempts no claim answers are refused');
SELECT is(api.finish_telegram_update(700001), true, 'finishing a claimed update: true');
SELECT results_eq($$ SELECT received_at, handled_at, attempts FROM core.telegram_updates WHERE update_id = 700001 $$,
                  $$ VALUES ('2030-09-10 00:00:00+00'::timestamptz, '2030-09-10 00:01:40+00'::timestamptz, 3) $$,
                  'handled now; received_at is the first delivery''s');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:05:00+00';
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(700001) $$, $$ VALUES ('DUPLICATE', 3) $$,
                  'a redelivery after handling is DUPLICATE; attempts stay');
SELECT is(api.finish_telegram_update(700001), true, 'finishing again: true');
SELECT is((SELECT handled_at FROM core.telegram_updates WHERE update_id = 700001),
          '2030-09-10 00:01:40+00'::timestamptz, 'the first handling time is kept');
SELECT is(api.finish_telegram_update(700999), false, 'finishing an update never claimed: false');
SELECT is(api.finish_telegram_update(NULL), false, 'finishing no update: false');
SELECT is((SELECT count(*) FROM core.telegram_updates WHERE update_id = 700999), 0::bigint, 'and records nothing');
SELECT results_eq($$ SELECT * FROM api.claim_telegram_update(0) $$, $$ VALUES ('NEW', 1) $$,
                  'update id 0 is a valid id');
SELECT throws_ok($$ SELECT * FROM api.claim_telegram_update(-1) $$, 'SP422', 'invalid argument p_update_id',
                 'a negative update id is refused');
SELECT throws_ok($$ SELECT * FROM api.claim_telegram_update(NULL) $$, 'SP422', 'invalid argument p_update_id',
                 'a missing update id is refused');
SELECT is((SELECT count(*) FROM core.telegram_updates), 3::bigint, 'refusals record nothing');

-- Pruning: entries received more than 7 days before a claim go, 100 per claim.
INSERT INTO core.telegram_updates (update_id, received_at, handled_at)
SELECT 800000 + i, '2030-09-03 00:01:00+00', CASE WHEN i % 2 = 0 THEN '2030-09-03 00:02:00+00'::timestamptz END
FROM generate_series(1, 150) AS i;
SELECT is((SELECT count(*) FROM core.telegram_updates), 153::bigint, '150 entries received on 2030-09-03');
UPDATE ops.clock SET frozen_at = '2030-09-10 00:01:00+00';
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
    $$ VALUES (0::bigint), (600001::bigint), (700001::bigint), (700002::bigint), (700003::bigint), (700004::bigint) $$,
    'prunes the rest; recent entries stay');

SELECT * FROM finish();
ROLLBACK;
