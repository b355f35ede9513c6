-- One import at a time per API key (docs/import-export.md, "One import at a time"). An import checks
-- a batch's rows against the caller's links, then creates what it did not find: two imports of the
-- same file running at once each found nothing and each created the links, twice. A lease, not a
-- lock held by a session: an import runs through the pool's connections and the batchers, on any
-- replica, and a replica that dies mid-import must not hold its key's lease for longer than the
-- lease's time (it is renewed with every batch). The database's clock decides expiry.
CREATE TABLE import_leases (
  owner_key_id bigint PRIMARY KEY,
  token uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
