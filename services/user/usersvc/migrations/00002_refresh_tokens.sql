-- +goose Up
-- A family is one sign-in and the refresh tokens its refreshes made, each
-- replacing the one before (rotation). Times are UTC text of fixed width
-- (2006-01-02T15:04:05.000000000Z), so that they compare as text.
CREATE TABLE refresh_families (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL,
    -- created_at + the absolute lifetime: no refresh goes past it.
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT CHECK (revoked_reason IN ('reuse', 'signout', 'signout_all')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_expiry ON refresh_families (expires_at);

-- A refresh token, known only by the hex SHA-256 of the token: the token
-- itself is never stored.
CREATE TABLE refresh_tokens (
    hash            TEXT PRIMARY KEY,
    family_id       TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at       TEXT NOT NULL,
    -- min(issued_at + the idle lifetime, the family's expires_at).
    idle_expires_at TEXT NOT NULL,
    -- NULL while it is the family's current token; set when a refresh
    -- replaced it (presenting it again is a reuse).
    rotated_at      TEXT
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (idle_expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
