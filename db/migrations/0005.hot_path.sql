-- depends: 0004.promo
-- Every ledger insert took FOR KEY SHARE on its kind's row in billing.ledger_kinds through this
-- foreign key: concurrent bookings of one kind (a popular promo code) piled multixacts onto a
-- single row. billing.post_ledger_entry reads the kind anyway (and refuses an unknown one), and
-- api.check_invariants() reports an entry whose kind is not in the table.
ALTER TABLE billing.ledger DROP CONSTRAINT IF EXISTS ledger_kind_ref_type_fkey;

-- Only refused attempts are counted per campaign (failed_attempts_24h, the brute-force guard).
DROP INDEX promo.promo_attempts_campaign_idx;
CREATE INDEX promo_attempts_campaign_refused_idx ON promo.promo_attempts (promo_code_id, created_at)
    WHERE counted AND promo_code_id IS NOT NULL;

-- Nothing is ever lost, an attempt included: the log refuses deletes and truncation too.
DROP TRIGGER promo_attempts_append_only ON promo.promo_attempts;
CREATE TRIGGER promo_attempts_append_only
    BEFORE UPDATE OR DELETE ON promo.promo_attempts
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER promo_attempts_no_truncate
    BEFORE TRUNCATE ON promo.promo_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();
