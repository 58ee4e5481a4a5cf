-- Batches with names, files a batch could not (yet) turn into jobs, and search.

-- A batch: one upload on the page, one API submission or one ComfyUI prompt. Its jobs carry its
-- id; this row gives it a name people can find it by.
CREATE TABLE batches (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    owner_id    BIGINT,
    created_by  TEXT,
    created_at  TEXT NOT NULL DEFAULT tinct_now()
);
CREATE INDEX batches_created ON batches (created_at);

-- Batches made before names existed are named after the day they were sent.
INSERT INTO batches (id, name, owner_id, created_by, created_at)
SELECT batch_id, 'Scans of ' || substr(MIN(created_at), 1, 10), MIN(owner_id), MIN(submitted_by), MIN(created_at)
FROM jobs WHERE batch_id IS NOT NULL GROUP BY batch_id;

-- Files of a batch that are not jobs: listed on the page but not (yet) uploaded, refused (with
-- the reason), or skipped because the same content was already colorized. They belong to the
-- batch and survive reloads; a file that becomes a job leaves this table.
CREATE TABLE batch_files (
    batch_id        TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    bytes           BIGINT,
    state           TEXT NOT NULL CHECK (state IN ('listed', 'refused', 'skipped')),
    message         TEXT,
    -- A skipped file: its stored original and the newest finished job of the same content.
    original_sha256 TEXT,
    duplicate_of    TEXT,
    -- A skipped file: the settings it came with (JSON), so it can be colorized again later.
    settings        TEXT,
    created_at      TEXT NOT NULL DEFAULT tinct_now(),
    PRIMARY KEY (batch_id, name)
);

-- Duplicates are found by content: finished jobs of one original.
CREATE INDEX jobs_original_status ON jobs (original_sha256, status);

-- Search over file names, batch names and review notes: the text a search looks in, one row
-- per job (each word of a search is matched with ILIKE; SQLite uses a trigram index instead).
CREATE VIEW job_search AS
SELECT jobs.id AS job_id,
       jobs.original_name || ' ' || COALESCE(batches.name, '') || ' ' || COALESCE(review.note, '') AS searched
FROM jobs
LEFT JOIN batches ON batches.id = jobs.batch_id
LEFT JOIN photo_reviews review
       ON review.batch_id = jobs.batch_id AND review.original_sha256 = jobs.original_sha256;
