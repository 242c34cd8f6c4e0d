CREATE OR REPLACE FUNCTION promo.pepper(p_previous boolean DEFAULT false)
RETURNS bytea
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_name   text := CASE WHEN p_previous THEN 'promo.pepper_previous' ELSE 'promo.pepper' END;
    v_value  text := nullif(current_setting(v_name, true), '');
BEGIN
    IF v_value IS NULL THEN
        IF p_previous THEN
            RETURN NULL;  -- no rotation in progress
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_not_set', MESSAGE = 'promo.pepper is not set',
            DETAIL = 'promo codes are hashed with a secret pepper that this session does not have',
            HINT = 'The app sets it from PROMO_SECRET_PEPPER on every connection; in psql use `make psql` or SET promo.pepper.';
    END IF;
    IF octet_length(convert_to(v_value, 'UTF8')) < 32 THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_too_short', MESSAGE = format('%s is too short', v_name),
            DETAIL = format('%s bytes; at least 32 are required', octet_length(convert_to(v_value, 'UTF8'))),
            HINT = 'Generate one with: python3 -c "import secrets; print(secrets.token_urlsafe(48))"';
    END IF;
    RETURN convert_to(v_value, 'UTF8');
END
$$;
COMMENT ON FUNCTION promo.pepper(boolean) IS
    'The pepper from the session setting promo.pepper (or promo.pepper_previous, NULL when unset); SP500 when missing or under 32 bytes.';
