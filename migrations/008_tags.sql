-- Tags and the sorted listings of GET /urls (docs/listing.md).
--
-- Tags are a text[] on the link, not a link_tags table: the one query on them is "links of this owner
-- having all of these tags", which is `tags @> $1` and a GIN index answers it on PostgreSQL and PGlite
-- alike (GIN is core, no extension); the tags come with the row (no join for a page, no second table
-- to keep in step on create, PATCH or delete), and replacing the list is one UPDATE. The domain keeps
-- them lower case, unique, sorted and at most 20 (src/url/tags.ts). Adding a column with a constant
-- default does not rewrite the table.
ALTER TABLE urls ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX urls_tags_idx ON urls USING gin (tags);

-- One index per sort of an owner's listing, read in either direction (asc is the backward scan):
-- keyset pagination on (sort key, id) is then a range scan that stops after a page. Sorting by
-- creation uses urls_owner_id_idx (001): the id is the order links were stored in.
-- Never-clicked links (last_clicked_at NULL) come last in both orders; the store reads them as a
-- second range of the same index (src/storage/postgres/pg-link-list.ts).
-- Cost: clicks and last_clicked_at change on every flush, and an indexed column that changes makes
-- the update non-HOT (every index of the row gets a new entry); docs/listing.md measures the listing.
CREATE INDEX urls_owner_clicks_idx ON urls (owner_key_id, clicks DESC, id DESC);
CREATE INDEX urls_owner_last_click_idx ON urls (owner_key_id, last_clicked_at DESC NULLS LAST, id DESC);
-- created_after / created_before: without it a range far from the newest links walked the owner's
-- links by id to reach it (half a second at a million links); created_at never changes.
CREATE INDEX urls_owner_created_idx ON urls (owner_key_id, created_at);
