-- Submissions sent with an `Idempotency-Key`: the answer is kept, so a retried request gets the
-- same answer instead of queueing the images again. `response` is NULL while it is processed.
CREATE TABLE idempotency_keys (
    owner_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    response   TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (owner_id, key)
);
