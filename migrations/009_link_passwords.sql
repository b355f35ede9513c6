-- A link may be protected by a password (docs/architecture.md, "Password-protected links"). Only a
-- memory-hard hash is kept, as a PHC-like string ($scrypt$ln=15,r=8,p=1$<salt>$<key>, see
-- src/url/link-password.ts); NULL = no password. A nullable column without a default is added
-- without rewriting the table.
ALTER TABLE urls ADD COLUMN password_hash text;
