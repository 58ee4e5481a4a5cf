-- Colorization jobs. The queue is this table: a job is picked up by its status.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY NOT NULL,
    batch_id      TEXT,
    submitted_by  TEXT,
    original_name TEXT NOT NULL,
    original_sha256 TEXT NOT NULL,
    preset        TEXT NOT NULL,
    input_size    INTEGER NOT NULL,
    model         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    error         TEXT,
    result_key    TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at    TEXT,
    finished_at   TEXT
);

CREATE INDEX jobs_status_created ON jobs (status, created_at);
CREATE INDEX jobs_batch ON jobs (batch_id);
