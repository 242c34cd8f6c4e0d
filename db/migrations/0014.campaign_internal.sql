-- depends: 0012.rollback_reason
-- The code-less referral discount campaign (migration 0008) is marked by a column, not by its
-- sentinel pepper fingerprint and name: admin functions refuse it, the listing hides it, and
-- the rotation check of api.create_promo_code ignores it. There is at most one.
ALTER TABLE promo.promo_codes ADD COLUMN internal boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN promo.promo_codes.internal IS
    'The referral discount campaign: no code, reserved only by api.choose_referral_reward; not an admin''s to list, read or pause.';
UPDATE promo.promo_codes SET internal = true
WHERE pepper_id = '\x0000000000000000' AND campaign = 'Referral reward: personal discount';
CREATE UNIQUE INDEX promo_codes_internal_key ON promo.promo_codes (internal) WHERE internal;
-- A pause through the admin API never had an effect on it; now nothing could undo it.
UPDATE promo.promo_codes SET status = 'ACTIVE', paused_at = NULL, paused_reason = NULL, updated_at = now()
WHERE internal AND status = 'PAUSED';

-- The rotation check asks for the smallest and largest pepper fingerprint among campaigns that
-- have a code: two index probes (ORDER BY pepper_id LIMIT 1 each way, queries without a
-- parameter, so no generic plan turns them into scans), whatever the number of campaigns.
DROP INDEX promo.promo_codes_pepper_idx;
CREATE INDEX promo_codes_pepper_idx ON promo.promo_codes (pepper_id) WHERE NOT internal;
