-- depends: 0006.promo_review
-- A support reset restarts the count after the last attempt it saw (taken under the user's
-- lock), not at its transaction's start time: a failure that began before the reset but
-- committed after it, or the other way round, is counted exactly as ordered by the lock.
ALTER TABLE promo.user_throttle ADD COLUMN counting_after_attempt_id bigint;
