CREATE OR REPLACE FUNCTION api.get_referral_code(p_user_id bigint)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- 32 symbols without 0/O and 1/I: unambiguous when read aloud or typed.
    c_alphabet  constant text := 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    v_code      text;
    v_bytes     bytea;
BEGIN
    PERFORM core.ensure_user(p_user_id);
    LOOP
        SELECT c.code INTO v_code FROM referral.codes AS c WHERE c.user_id = p_user_id;
        IF FOUND THEN
            RETURN v_code;
        END IF;
        -- Random, never derived from the Telegram id; 50 bits, so a collision is only retried.
        v_bytes := extensions.gen_random_bytes(10);
        SELECT string_agg(substr(c_alphabet, get_byte(v_bytes, i) % 32 + 1, 1), '' ORDER BY i)
        INTO v_code FROM generate_series(0, 9) AS i;
        INSERT INTO referral.codes (user_id, code, created_at)
        VALUES (p_user_id, v_code, ops.now())
        ON CONFLICT DO NOTHING;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.get_referral_code(bigint) IS
    'The user''s public referral code (10 random characters), created on first use.';
