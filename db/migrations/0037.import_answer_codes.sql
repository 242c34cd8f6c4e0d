-- depends: 0036.retention
-- A batch import's answer carries each line's canonical code (issue 11): the batch tool writes
-- its report from it instead of keeping every generated code, or reading the file a second
-- time, while the database works. The result type changes (a column more); the function file
-- creates it anew.
DROP FUNCTION IF EXISTS api.import_promo_codes(uuid, text, text, integer, integer, integer, integer,
                                               timestamptz, timestamptz, text, text, text);
