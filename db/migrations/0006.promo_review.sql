-- depends: 0005.hot_path
-- Attempts made while the user is blocked are never counted, whatever their outcome (a key
-- conflict is answered before the throttle check): counted now implies a refusal, not the
-- other way round.
ALTER TABLE promo.promo_attempts DROP CONSTRAINT promo_attempts_counted_refusals;
ALTER TABLE promo.promo_attempts ADD CONSTRAINT promo_attempts_counted_refusals CHECK (
    NOT counted OR (NOT replayed AND outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED')));

-- Creation checks whether a pepper rotation is under way (campaigns hashed by another pepper).
CREATE INDEX promo_codes_pepper_idx ON promo.promo_codes (pepper_id);
