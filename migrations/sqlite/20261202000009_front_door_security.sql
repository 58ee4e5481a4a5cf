-- A session is bound to its account's `session_epoch`: a new random value whenever the account
-- is created, its password is reset or it is deleted, so an old cookie never becomes the
-- session of another (or a changed) account.
ALTER TABLE users ADD COLUMN session_epoch TEXT NOT NULL DEFAULT '';
UPDATE users SET session_epoch = lower(hex(randomblob(16)));

-- User ids are never used twice (SQLite would reuse the highest id after a delete): the
-- highest id ever given is kept, and an insert at or below it is refused.
CREATE TABLE user_id_high_water (
    only    INTEGER PRIMARY KEY CHECK (only = 0),
    last_id INTEGER NOT NULL
);
INSERT INTO user_id_high_water (only, last_id) VALUES (0, COALESCE((SELECT MAX(id) FROM users), 0));
CREATE TRIGGER users_ids_are_never_reused BEFORE INSERT ON users
WHEN NEW.id IS NULL OR NEW.id <= (SELECT last_id FROM user_id_high_water)
BEGIN
    SELECT RAISE(ABORT, 'user ids are never reused: insert with the next id');
END;
CREATE TRIGGER users_high_water AFTER INSERT ON users
BEGIN
    UPDATE user_id_high_water SET last_id = MAX(last_id, NEW.id);
END;

-- ComfyUI inputs: each person (or token owner) has their own names.
CREATE TABLE comfy_uploads_by_owner (
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subfolder  TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES originals (sha256),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (owner_id, subfolder, name)
);
INSERT INTO comfy_uploads_by_owner (owner_id, subfolder, name, sha256, created_at)
    SELECT owner_id, subfolder, name, sha256, created_at FROM comfy_uploads WHERE owner_id IS NOT NULL;
DROP TABLE comfy_uploads;
ALTER TABLE comfy_uploads_by_owner RENAME TO comfy_uploads;
CREATE INDEX comfy_uploads_sha256 ON comfy_uploads (sha256);

-- Idempotency keys expire after a day.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
