-- People who sign in, with a role: admin (everything), staff (upload, manage own and shared
-- jobs), viewer (read-only).
CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL DEFAULT tinct_now()
);

-- Names are unique whatever their case, as in SQLite's NOCASE.
CREATE UNIQUE INDEX users_name_any_case ON users (lower(name));

-- Personal API tokens: only a hash is kept; the token is shown once.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    -- Comma-separated: submit, read, admin.
    scopes       TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL DEFAULT tinct_now()
);

-- Who owns a job; a private job is seen only by its owner and admins.
ALTER TABLE jobs ADD COLUMN owner_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN private BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_owner ON jobs (owner_id);
