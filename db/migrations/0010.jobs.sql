-- depends: 0009.alert_outbox
-- Time-driven jobs: reservation expiry, campaign rollover, the brute-force guard.

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('promo.guard_window', 'interval', '10 minutes', '10 minutes',
     'Window in which the brute-force guard counts refused attempts per campaign.'),
    ('promo.guard_min_attempts', 'integer', '50', '50',
     'Refused attempts attributed to a campaign within the window that make it abused.'),
    ('promo.guard_min_users', 'integer', '10', '10',
     'Distinct users among those attempts that make it abused (one noisy user is the throttle''s job).'),
    ('promo.guard_global_not_found', 'integer', '500', '500',
     'NOT_FOUND attempts across all users within the window that raise promo.bruteforce_suspected.');

-- An operator's resume restarts the guard's count: attempts before it do not pause it again.
ALTER TABLE promo.promo_codes ADD COLUMN guard_counting_since timestamptz;

CREATE INDEX promo_attempts_not_found_idx ON promo.promo_attempts (created_at) WHERE outcome = 'NOT_FOUND';

-- record_attempt learns the campaign a NOT_FOUND guess is attributed to (by public prefix).
DROP FUNCTION IF EXISTS promo.record_attempt(bigint, text, bytea, api.redeem_result, timestamptz);
