-- depends: 0012.rollback_reason
-- The audit log records the database role that made a change beside the actor the caller
-- names (one login role per surface: docs/architecture.md, "Roles"). Rows written before this
-- migration keep NULL: which role wrote them is not known.
ALTER TABLE ops.audit_log ADD COLUMN db_role text CHECK (char_length(db_role) BETWEEN 1 AND 63);
ALTER TABLE ops.audit_log ALTER COLUMN db_role SET DEFAULT session_user;
COMMENT ON COLUMN ops.audit_log.db_role IS
    'The login role of the session (session_user) that wrote the row: which surface acted; actor is who the caller says acted.';
