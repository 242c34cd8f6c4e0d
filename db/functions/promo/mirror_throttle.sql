CREATE OR REPLACE FUNCTION promo.mirror_throttle()
RETURNS trigger
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
