CREATE OR REPLACE FUNCTION ops.domain_values(p_domain regtype)
RETURNS text[]
LANGUAGE sql STABLE
AS $$
    -- The quoted literals of the domain's CHECK (VALUE IN (...)), in their stated order.
    SELECT array_agg(replace(m.v[1], '''''', '''') ORDER BY c.conname, m.n)
    FROM pg_catalog.pg_constraint AS c
    CROSS JOIN LATERAL regexp_matches(pg_catalog.pg_get_constraintdef(c.oid), '''((?:[^'']|'''')*)''', 'g')
        WITH ORDINALITY AS m(v, n)
    WHERE c.contypid = p_domain AND c.contype = 'c'
$$;
COMMENT ON FUNCTION ops.domain_values(regtype) IS
    'The values a text domain allows, read from its CHECK (VALUE IN (...)) in the catalogue; for messages, not for checking.';
