-- depends: 0012.rollback_reason
-- api.check_pepper (start-up and readiness) finds the fingerprints of the live campaigns by a
-- skip scan of this index: one probe per distinct pepper, however many campaigns there are.
CREATE INDEX IF NOT EXISTS promo_codes_live_pepper_idx ON promo.promo_codes (pepper_id)
    WHERE status IN ('ACTIVE', 'PAUSED');
