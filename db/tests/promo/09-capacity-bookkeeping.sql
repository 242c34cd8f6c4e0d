-- promo.book_capacity: a slot's used/held counters follow the status of its redemptions, for
-- every transition of the state machine, with no caller moving them by hand.
BEGIN;
SELECT plan(14);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';
SELECT core.ensure_user(u) FROM generate_series(7001, 7004) AS u;

INSERT INTO camp VALUES
    ('grant', api.create_promo_code('BOOKING-GRANT-1', 'PREMIUM_GRANT', 'booking grant', p_grant_days => 1,
                                    p_max_uses => 2)),
    ('disc',  api.create_promo_code('BOOKING-DISC-1', 'PERCENT_DISCOUNT', 'booking discount',
                                    p_discount_percent => 10, p_max_uses => 1));
-- One slot per campaign here (max_uses 1 and 2 give one slot each): the sums are the slot.
CREATE FUNCTION pg_temp.units(p_campaign bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('used %s held %s', sum(s.used), sum(s.held)) FROM promo.capacity_slots AS s
    WHERE s.promo_code_id = p_campaign $$;
CREATE FUNCTION pg_temp.book(p_campaign bigint, p_user bigint, p_kind text, p_status text)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at, reserved_until)
    SELECT p_campaign, min(s.slot_no), p_user, p_kind, p_status, ops.now(),
           CASE WHEN p_status = 'RESERVED' THEN ops.now() + interval '15 minutes' END
    FROM promo.capacity_slots AS s WHERE s.promo_code_id = p_campaign
    RETURNING promo_redemption_id $$;

SELECT is(pg_temp.units(pg_temp.cid('grant')), 'used 0 held 0', 'a new campaign uses and holds nothing');

CREATE TEMP TABLE r AS SELECT pg_temp.book(pg_temp.cid('grant'), 7001, 'PREMIUM_GRANT', 'APPLIED') AS applied;
SELECT is(pg_temp.units(pg_temp.cid('grant')), 'used 1 held 0', 'an APPLIED redemption uses a unit');

UPDATE promo.promo_redemptions SET status = 'REVOKED', revoked_at = ops.now(), revoked_reason = 'test'
WHERE promo_redemption_id = (SELECT applied FROM r);
SELECT is(pg_temp.units(pg_temp.cid('grant')), 'used 1 held 0', 'APPLIED -> REVOKED keeps the unit spent');

ALTER TABLE r ADD COLUMN reserved bigint;
UPDATE r SET reserved = pg_temp.book(pg_temp.cid('disc'), 7002, 'PERCENT_DISCOUNT', 'RESERVED');
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 0 held 1', 'a RESERVED redemption holds a unit');

UPDATE promo.promo_redemptions SET reserved_until = reserved_until + interval '1 hour'
WHERE promo_redemption_id = (SELECT reserved FROM r);
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 0 held 1', 'extending a hold moves nothing');

SELECT throws_ok(
    $$ SELECT pg_temp.book(pg_temp.cid('disc'), 7003, 'PERCENT_DISCOUNT', 'RESERVED') $$,
    '23514', NULL, 'a unit beyond the slot''s capacity is refused by the slot''s CHECK');
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 0 held 1', 'the refused booking left the counters alone');

UPDATE promo.promo_redemptions SET status = 'EXPIRED', expired_at = ops.now()
WHERE promo_redemption_id = (SELECT reserved FROM r);
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 0 held 0', 'RESERVED -> EXPIRED releases the unit');

UPDATE r SET reserved = pg_temp.book(pg_temp.cid('disc'), 7003, 'PERCENT_DISCOUNT', 'RESERVED');
UPDATE promo.promo_redemptions SET status = 'CONSUMED', consumed_at = ops.now()
WHERE promo_redemption_id = (SELECT reserved FROM r);
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 1 held 0', 'RESERVED -> CONSUMED turns the hold into a use');

UPDATE promo.promo_redemptions SET status = 'REVOKED', revoked_at = ops.now(), revoked_reason = 'test'
WHERE promo_redemption_id = (SELECT reserved FROM r);
SELECT is(pg_temp.units(pg_temp.cid('disc')), 'used 1 held 0', 'CONSUMED -> REVOKED keeps the unit spent');

SELECT throws_ok(
    $$ UPDATE promo.promo_redemptions SET status = 'RESERVED', revoked_at = NULL, revoked_reason = NULL,
              consumed_at = NULL
       WHERE promo_redemption_id = (SELECT reserved FROM r) $$,
    'SP409', NULL, 'a forbidden transition is refused before any counter moves');
-- One statement changing many rows over several slots books each slot once, by the sum.
CREATE TEMP TABLE many AS
SELECT api.create_promo_code('BOOKING-MANY-1', 'PERCENT_DISCOUNT', 'booking many', p_discount_percent => 10) AS id;
SELECT core.ensure_user(u) FROM generate_series(7101, 7140) AS u;
INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at, reserved_until)
SELECT (SELECT id FROM many), u % 4, u, 'PERCENT_DISCOUNT', 'RESERVED', ops.now(), ops.now() + interval '1 minute'
FROM generate_series(7101, 7140) AS u;
SELECT is(pg_temp.units((SELECT id FROM many)), 'used 0 held 40', '40 reservations over 4 slots hold 40 units');
UPDATE promo.promo_redemptions
SET status = CASE WHEN user_id % 2 = 0 THEN 'CONSUMED' ELSE 'EXPIRED' END,
    consumed_at = CASE WHEN user_id % 2 = 0 THEN ops.now() END,
    expired_at = CASE WHEN user_id % 2 = 1 THEN ops.now() END
WHERE promo_code_id = (SELECT id FROM many);
SELECT results_eq(
    $$ SELECT slot_no, used, held FROM promo.capacity_slots
       WHERE promo_code_id = (SELECT id FROM many) AND slot_no < 4 ORDER BY slot_no $$,
    $$ VALUES (0::smallint, 10, 0), (1::smallint, 0, 0), (2::smallint, 10, 0), (3::smallint, 0, 0) $$,
    'one UPDATE consuming half and expiring half moves each slot by its own sum');

-- (Rows written by hand here skip the attempt log and the ledger: only the counters are checked.)
SELECT is_empty($$ SELECT * FROM api.check_invariants() WHERE invariant LIKE 'promo_slot%' $$,
                'the counters agree with the redemptions');

SELECT * FROM finish();
ROLLBACK;
