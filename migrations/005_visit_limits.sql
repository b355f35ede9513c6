-- Visit limits and query forwarding (docs/architecture.md, "Redirect").
--
-- max_visits: how many redirects a link gives people, NULL for no limit. visits: the redirects that
-- counted toward it, one conditional UPDATE each (pg-link-store.ts, countVisit); consumed_at stays the
-- one mark of "used" and is set by the visit that reaches the limit. A one-time link is a link with
-- max_visits = 1.
--
-- Nothing here rewrites `urls`: a nullable column and a NOT NULL column with a constant default are
-- catalogue changes (PostgreSQL 11+), the CHECKs are NOT VALID (they hold for every row written from
-- now on; every existing row passes them by construction: NULL, or the 1 set below), and only the
-- one-time rows are updated.
ALTER TABLE urls
  ADD COLUMN max_visits integer,
  ADD COLUMN visits integer NOT NULL DEFAULT 0,
  ADD COLUMN forward_query boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT urls_max_visits_range CHECK (max_visits BETWEEN 1 AND 1000000000) NOT VALID,
  ADD CONSTRAINT urls_visits_not_negative CHECK (visits >= 0) NOT VALID;

UPDATE urls SET max_visits = 1, visits = CASE WHEN consumed_at IS NULL THEN 0 ELSE 1 END WHERE is_one_time;

-- is_one_time stays, as max_visits = 1, kept in step by the statements that write max_visits (insert,
-- updateById) rather than made a generated column: that would rewrite the table, and the previous
-- version, which writes is_one_time itself, must keep running on this schema (a rolling upgrade, a
-- rollback: docs/deploy.md). A link that version creates as one-time arrives without max_visits; this
-- trigger gives it its limit of 1, so max_visits alone is what every redirect of this version decides
-- by. (A one-time link that version uses up gets consumed_at without a visit counted: used, visits 0.)
CREATE FUNCTION urls_one_time_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.max_visits := 1;
  RETURN NEW;
END
$$;

CREATE TRIGGER urls_one_time_limit BEFORE INSERT ON urls
  FOR EACH ROW WHEN (NEW.is_one_time AND NEW.max_visits IS NULL) EXECUTE FUNCTION urls_one_time_limit();
