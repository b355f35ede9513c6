-- A link's running totals (clicks, bot hits, last click) move out of `urls` into a narrow table of
-- their own, written by every click flush.
--
-- Why: the listing's sort indexes (008) put `clicks` and `last_clicked_at` in indexes of `urls`, so
-- the flush's UPDATE changed indexed columns and was never a HOT update: each link it touched got a
-- new entry in every index of `urls`, eleven of them by 010, three GIN among them (tags and the two
-- trigram indexes, which take an entry per trigram of the URL). Measured on 100,000 links, 10,000
-- distinct per flush: 35-40 µs of PostgreSQL CPU per link for that UPDATE, against 9-12 µs for the
-- same UPDATE of this table (docs/performance.md, "Where the click flush's PostgreSQL time goes").
-- The rows of `urls` now change only when a link does.
--
-- Every link has its row, from the statement that inserts it (the trigger below), so the sorts by
-- clicks and by last click stay one range scan of an index here (docs/listing.md). owner_key_id is
-- copied for those indexes; a link's owner never changes, and deleting an API key empties both
-- copies (ON DELETE SET NULL).
--
-- Expand, then contract: urls.clicks, urls.bot_hits and urls.last_clicked_at stay for now, no longer
-- read nor written by this version. A previous version still running during a rollout (or after a
-- rollback; docs/deploy.md) flushes its clicks into them, and the second trigger adds what it wrote
-- to this table, so no click counted by either version is lost. A later migration drops them.
-- No write to urls while this runs (reads and redirects go on): a link created, or clicks flushed
-- into the legacy columns, by a previous version between the backfill's snapshot and the triggers
-- below would otherwise have no totals row, or lose those clicks. DROP INDEX takes the table wholly
-- for a moment at the end.
LOCK TABLE urls IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE url_totals (
  url_id          bigint PRIMARY KEY REFERENCES urls (id) ON DELETE CASCADE,
  owner_key_id    bigint REFERENCES api_keys (id) ON DELETE SET NULL,
  clicks          bigint NOT NULL DEFAULT 0,
  bot_hits        bigint NOT NULL DEFAULT 0,
  last_clicked_at timestamptz
);

INSERT INTO url_totals (url_id, owner_key_id, clicks, bot_hits, last_clicked_at)
SELECT id, owner_key_id, clicks, bot_hits, last_clicked_at FROM urls;

CREATE INDEX url_totals_owner_clicks_idx ON url_totals (owner_key_id, clicks DESC, url_id DESC);
CREATE INDEX url_totals_owner_last_click_idx ON url_totals (owner_key_id, last_clicked_at DESC NULLS LAST, url_id DESC);
DROP INDEX urls_owner_clicks_idx;
DROP INDEX urls_owner_last_click_idx;

-- One INSERT for all the rows of a statement (a batch of creations, an import): the totals start
-- from what the insert gave the legacy columns, zero unless a loader set them.
CREATE FUNCTION url_totals_of_new_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO url_totals (url_id, owner_key_id, clicks, bot_hits, last_clicked_at)
  SELECT id, owner_key_id, clicks, bot_hits, last_clicked_at FROM new_links;
  RETURN NULL;
END
$$;
CREATE TRIGGER urls_totals_row AFTER INSERT ON urls
  REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION url_totals_of_new_links();

-- A previous version's flush: what it added to the legacy columns is added here. This version
-- never sets those columns, so the trigger never fires for its own statements.
CREATE FUNCTION url_totals_from_legacy_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE url_totals
     SET clicks = clicks + (NEW.clicks - OLD.clicks),
         bot_hits = bot_hits + (NEW.bot_hits - OLD.bot_hits),
         last_clicked_at = GREATEST(last_clicked_at, NEW.last_clicked_at)
   WHERE url_id = NEW.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER urls_legacy_click_columns AFTER UPDATE OF clicks, bot_hits, last_clicked_at ON urls
  FOR EACH ROW
  WHEN (OLD.clicks IS DISTINCT FROM NEW.clicks OR OLD.bot_hits IS DISTINCT FROM NEW.bot_hits OR OLD.last_clicked_at IS DISTINCT FROM NEW.last_clicked_at)
  EXECUTE FUNCTION url_totals_from_legacy_columns();
