CREATE OR REPLACE FUNCTION promo.refuse_code(p_reason text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- The DETAIL describes the rule, never the input: codes must not reach any log.
    CASE p_reason
    WHEN 'code_too_short' THEN
        PERFORM ops.check_argument(false, 'p_code',
            'a code needs at least 4 letters or digits', 'Short codes are guessed; use 8 or more.');
    WHEN 'prefix_mismatch' THEN
        PERFORM ops.check_argument(false, 'p_prefix', 'a prefix is 2 to 16 letters or digits that the code starts with, followed by at least 4 more',
            NULL);
    WHEN 'code_in_campaign_name' THEN
        PERFORM ops.check_argument(false, 'p_campaign',
            'the campaign name must not contain the code (names are stored, audited and shown)', NULL);
    WHEN 'check_character' THEN
        PERFORM ops.check_argument(false, 'p_code',
            'the code has the pattern of a generated batch code (its last 16 characters) but a wrong check character',
            'Generate batch codes with scripts/promo_batch_tool.py, or choose a code without that pattern.');
    END CASE;
END
$$;
COMMENT ON FUNCTION promo.refuse_code(text) IS
    'Raises SP422 invalid_argument for a reason of promo.code_refusal (or check_character), naming the argument at fault; api.create_promo_code''s refusal of a code.';
