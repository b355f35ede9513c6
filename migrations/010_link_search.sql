-- Text search of GET /urls (`q`, docs/listing.md): `short_code ILIKE '%…%' OR original_url ILIKE
-- '%…%'`, which no B-tree can answer. A trigram GIN index per column can (pg_trgm's gin_trgm_ops
-- serves LIKE and ILIKE alike): the two bitmaps are OR-ed, the owner is a filter on the few rows they
-- give, then the page is sorted. The query is left as it is, so each column keeps its own index and
-- a match never spans the two columns.
--
-- pg_trgm is a contrib extension: a "trusted" one since PostgreSQL 13, so a database owner without
-- superuser rights may create it, provided the server has the contrib files (postgresql-contrib;
-- the official images have them). PGlite loads it where it is opened (src/storage/pglite/pglite-runner.ts).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX urls_short_code_trgm_idx ON urls USING gin (short_code gin_trgm_ops);
CREATE INDEX urls_original_url_trgm_idx ON urls USING gin (original_url gin_trgm_ops);

-- With an index to take, the planner must now tell a rare text (the trigram bitmap, then a sort)
-- from a common one (walk the owner's links by the sort's index: a page comes in the first rows; the
-- bitmap would fetch every match). It estimates a LIKE '%…%' from the column's histogram, and 100
-- samples (the default) put a text that 1 link in 150 holds at "1 in 10,000": the bitmap, 50 ms
-- where the walk takes 1 ms. 1000 samples tell the two apart; ANALYZE then samples 300,000 rows
-- instead of 30,000 (about a second more at a million links).
ALTER TABLE urls ALTER COLUMN original_url SET STATISTICS 1000, ALTER COLUMN short_code SET STATISTICS 1000;

-- Cost: every link created writes about one GIN entry per character of its URL and code (into the
-- pending list: fastupdate, merged later by VACUUM or when the list passes gin_pending_list_limit).
-- The click flush's UPDATE was already not HOT (migration 008 indexes clicks and last_clicked_at),
-- and a non-HOT update writes an entry for the new row version in every index, these two included:
-- docs/listing.md measures what that adds.
