-- depends: 0024.redeem_idempotency
-- The promo batch tool (scripts/promo_batch_tool.py, `starpass promo-batch`): a batch of codes is
-- staged with COPY into a temporary table that api.open_promo_import creates for the
-- transaction, then api.import_promo_codes hashes, checks and inserts them set-based and answers
-- one row per line. Generated codes carry a check character that the redemption verifies before
-- the hash lookup (docs/promo.md, "Batch codes"); refusing such a typo is not counted by the
-- throttle, so promo.record_attempt learns to record an uncounted refusal.

CREATE DOMAIN promo.import_mode AS text
    CONSTRAINT import_mode_check CHECK (VALUE IN ('ALL_OR_NOTHING', 'PARTIAL', 'DRY_RUN'));
COMMENT ON DOMAIN promo.import_mode IS
    'How api.import_promo_codes treats a batch with refused lines: insert nothing, insert the valid lines, or only report.';
CREATE DOMAIN promo.import_status AS text
    CONSTRAINT import_status_check CHECK (VALUE IN ('INSERTED', 'VALID', 'DUPLICATE', 'INVALID'));
COMMENT ON DOMAIN promo.import_status IS
    'What api.import_promo_codes did with one line: inserted it, found it valid but inserted nothing (dry run, refused batch), or refused it.';

DROP FUNCTION IF EXISTS promo.record_attempt(bigint, text, bytea, api.redeem_result, timestamptz, bigint);

-- A batch gives a million campaigns one prefix. promo.campaign_by_prefix (a NOT_FOUND guess's
-- campaign, for the brute-force guard) took all campaigns with one of the guess's prefixes and
-- sorted them: 450 ms a guess with two million batch codes. With the order it wants in the
-- index, each candidate prefix is one probe: ACTIVE first, then the newest.
DROP INDEX promo.promo_codes_prefix_idx;
CREATE INDEX promo_codes_prefix_idx ON promo.promo_codes (prefix, (status = 'ACTIVE'), promo_code_id)
    WHERE prefix IS NOT NULL;
