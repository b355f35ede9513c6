-- Click flushes are idempotent: each batch carries an id written in the same transaction as its
-- counts. A flush whose COMMIT succeeded but whose answer was lost (PostgreSQL dying at that moment)
-- is retried with the same id and skipped, so no click is ever counted twice.
CREATE TABLE click_batches (
  id          uuid PRIMARY KEY,
  applied_at  timestamptz NOT NULL DEFAULT now()
);

-- Pruned after a day by the expiry sweep: a retry never comes that late.
CREATE INDEX click_batches_applied_at_idx ON click_batches (applied_at);
