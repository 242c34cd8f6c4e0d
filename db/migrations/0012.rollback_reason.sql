-- depends: 0011.job_registry
-- api.rollback_refunded_promo takes the operator's reason (audited).
DROP FUNCTION IF EXISTS api.rollback_refunded_promo(bigint, text, text);
