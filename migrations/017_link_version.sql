-- A link's version, raised by every change of its row (an update, a visit; a deletion reads it), so
-- that the lookup cache keeps the newest of two states whatever order their writes reach it in: the
-- row lock orders the changes in PostgreSQL, and without a number to compare, a write of an older
-- state that arrived late replaced a newer one (a deleted link redirecting again from Redis:
-- docs/operations.md, "Changes and the cache"). A constant default: adding the column rewrites no row.
ALTER TABLE urls ADD COLUMN version integer NOT NULL DEFAULT 1;
