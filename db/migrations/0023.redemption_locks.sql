-- depends: 0021.capacity_bookkeeping
-- A redemption in at most 16 relation locks, so that all of them fit PostgreSQL's per-backend
-- fast-path slots and concurrent redemptions never meet in the shared lock manager (measured:
-- docs/benchmarks.md). Each change removes relations from the hot path, not rules.

-- 1. Ledger kinds are code (billing.ledger_kinds()), not a table read on every booking: the
--    table cost two relation locks per entry and was never written after its seed.
CREATE TYPE billing.ledger_kind AS (
    kind         text,
    ref_type     text,
    stars_sign   smallint,
    days_sign    smallint,
    description  text
);
COMMENT ON TYPE billing.ledger_kind IS
    'A ledger entry kind: the type of object that causes it and the sign each delta may have (1 credit, -1 debit, 0 never, NULL either).';
DROP TABLE billing.ledger_kinds;

-- 2. The redemption reads the user once: that the row exists, whether the throttle blocks them
--    and where their failure count starts. core.users mirrors those two columns of
--    promo.user_throttle (the state of record), kept by trigger; every writer of the throttle
--    holds the user's lock.
ALTER TABLE core.users ADD COLUMN promo_blocked_until timestamptz,
                       ADD COLUMN promo_counting_after_attempt_id bigint;
COMMENT ON COLUMN core.users.promo_blocked_until IS
    'Mirror of promo.user_throttle.blocked_until (trigger promo.mirror_throttle), so a redemption reads one row for the user.';
COMMENT ON COLUMN core.users.promo_counting_after_attempt_id IS
    'Mirror of promo.user_throttle.counting_after_attempt_id (trigger promo.mirror_throttle).';
UPDATE core.users AS u
SET promo_blocked_until = t.blocked_until, promo_counting_after_attempt_id = t.counting_after_attempt_id
FROM promo.user_throttle AS t WHERE t.user_id = u.user_id;

CREATE FUNCTION promo.mirror_throttle() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE core.users AS u SET promo_blocked_until = NULL, promo_counting_after_attempt_id = NULL
        WHERE u.user_id = OLD.user_id;
    ELSE
        UPDATE core.users AS u
        SET promo_blocked_until = NEW.blocked_until,
            promo_counting_after_attempt_id = NEW.counting_after_attempt_id
        WHERE u.user_id = NEW.user_id
          AND (u.promo_blocked_until, u.promo_counting_after_attempt_id)
              IS DISTINCT FROM (NEW.blocked_until, NEW.counting_after_attempt_id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.mirror_throttle() IS
    'Trigger: copies promo.user_throttle.blocked_until and counting_after_attempt_id to core.users.';
CREATE TRIGGER user_throttle_mirror
    AFTER INSERT OR UPDATE OF blocked_until, counting_after_attempt_id OR DELETE ON promo.user_throttle
    FOR EACH ROW EXECUTE FUNCTION promo.mirror_throttle();

-- 3. The rows a redemption writes draw their ids from one sequence (one relation lock instead
--    of three): attempts, redemptions and ledger entries. Ids stay unique and increasing per
--    table; only the gaps change.
CREATE SEQUENCE ops.row_ids AS bigint;
COMMENT ON SEQUENCE ops.row_ids IS
    'Ids of promo.promo_attempts, promo.promo_redemptions and billing.ledger (one sequence: one relation lock per redemption).';
DO $$ BEGIN
    PERFORM pg_catalog.setval('ops.row_ids', greatest(
        (SELECT max(attempt_id) FROM promo.promo_attempts),
        (SELECT max(promo_redemption_id) FROM promo.promo_redemptions),
        (SELECT max(ledger_id) FROM billing.ledger), 1));
END $$;
ALTER TABLE promo.promo_attempts ALTER COLUMN attempt_id DROP IDENTITY;
ALTER TABLE promo.promo_attempts ALTER COLUMN attempt_id SET DEFAULT nextval('ops.row_ids');
ALTER TABLE promo.promo_redemptions ALTER COLUMN promo_redemption_id DROP IDENTITY;
ALTER TABLE promo.promo_redemptions ALTER COLUMN promo_redemption_id SET DEFAULT nextval('ops.row_ids');
ALTER TABLE billing.ledger ALTER COLUMN ledger_id DROP IDENTITY;
ALTER TABLE billing.ledger ALTER COLUMN ledger_id SET DEFAULT nextval('ops.row_ids');

-- 4. One index fewer per redemption insert: a campaign's stale reservations are found through
--    promo_redemptions_reserved_until_idx (all stale holds, which the expiry job keeps few).
--    While an INSERT runs, its indexes count against the 16 fast-path slots too.
DROP INDEX promo.promo_redemptions_reserved_idx;

-- 5. promo.take_capacity starts its slot probe at a random slot of the campaign's (it takes
--    max_uses, which bounds the slot count): the old signature goes.
DROP FUNCTION IF EXISTS promo.take_capacity(bigint, timestamptz);

-- 6. The test clock is read only where a database enables it (tests set
--    starpass.test_clock = on for their databases): in production ops.now() is now() and
--    touches no table.
CREATE FUNCTION ops.guard_test_clock() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'test_clock_disabled',
            MESSAGE = 'the test clock is off in this database',
            DETAIL = 'ops.now() ignores ops.clock unless starpass.test_clock is on',
            HINT = 'Only test databases pin time: ALTER DATABASE <name> SET starpass.test_clock = on, then reconnect.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ops.guard_test_clock() IS
    'Trigger: refuses to pin or shift ops.clock where ops.now() would ignore it.';
CREATE TRIGGER clock_guard
    BEFORE UPDATE ON ops.clock
    FOR EACH ROW WHEN (NEW.frozen_at IS NOT NULL OR NEW.shift <> interval '0')
    EXECUTE FUNCTION ops.guard_test_clock();
