-- An import matches a row without an alias to the caller's link with the same target URL
-- (docs/import-export.md, "Idempotency"): one index lookup per URL instead of a scan of the owner's
-- links. A hash, since a URL of up to 2048 characters may not fit a B-tree entry.
CREATE INDEX urls_owner_url_md5_idx ON urls (owner_key_id, md5(original_url));
