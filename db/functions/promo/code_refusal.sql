CREATE OR REPLACE FUNCTION promo.code_refusal(
    p_code              text,
    p_prefix            text,
    p_campaign_letters  text
)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- One expression, so that an import checks a million codes without a million calls. The check
-- character is not here: its window costs a translate() that an import computes once per code
-- (promo.has_wrong_check_character for one code).
AS $$
    SELECT CASE
        WHEN char_length(p_code) < 4 THEN 'code_too_short'
        WHEN p_prefix IS NOT NULL
             AND NOT (starts_with(p_code, p_prefix) AND char_length(p_code) >= char_length(p_prefix) + 4)
            THEN 'prefix_mismatch'
        WHEN strpos(p_campaign_letters, p_code) > 0 THEN 'code_in_campaign_name'
    END
$$;
COMMENT ON FUNCTION promo.code_refusal(text, text, text) IS
    'Why a canonical code cannot belong to a campaign with this normalized prefix and name (the name''s letters and digits, uppercase): code_too_short, prefix_mismatch, code_in_campaign_name, or NULL. Shared by api.create_promo_code (which raises it, promo.refuse_code) and api.import_promo_codes (which reports it per line).';
