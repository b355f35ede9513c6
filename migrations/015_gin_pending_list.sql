-- A smaller pending list for the GIN indexes of `urls` (the tags of migration 008, the trigrams of
-- migration 010). With fastupdate (the default) a new link's GIN entries go to the index's pending
-- list, and the insert that finds the list past gin_pending_list_limit (4 MB by default) merges all
-- of it into the index before it returns: that creation, and every creation coalesced into the same
-- INSERT, waits for the merge of some 4 MB of trigrams. At 256 kB a merge is a sixteenth of that.
-- Measured with `npm run bench:ab` (creations, 20,000 links, 10 rounds, docs/performance.md,
-- "2026-12-06, later"): creation p99 66.5 -> 36.9 ms and 53.8 -> 35.9 ms, lower in 9 of 10 rounds
-- both times, for 13-19 % more PostgreSQL CPU per creation (smaller merges are less efficient) and no
-- change in the service's own. fastupdate off (no pending list) gave a p99 as low but twice the
-- PostgreSQL CPU per creation, and 30 % fewer creations a second.
-- An index's storage parameter: no rewrite, no long lock; a list already longer is merged by the next
-- insert (or VACUUM).
ALTER INDEX urls_tags_idx SET (gin_pending_list_limit = 256);
ALTER INDEX urls_short_code_trgm_idx SET (gin_pending_list_limit = 256);
ALTER INDEX urls_original_url_trgm_idx SET (gin_pending_list_limit = 256);
