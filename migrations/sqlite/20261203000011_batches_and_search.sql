-- Batches with names, files a batch could not (yet) turn into jobs, and search.

-- A batch: one upload on the page, one API submission or one ComfyUI prompt. Its jobs carry its
-- id; this row gives it a name people can find it by.
CREATE TABLE batches (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    owner_id    INTEGER,
    created_by  TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
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
    bytes           INTEGER,
    state           TEXT NOT NULL CHECK (state IN ('listed', 'refused', 'skipped')),
    message         TEXT,
    -- A skipped file: its stored original and the newest finished job of the same content.
    original_sha256 TEXT,
    duplicate_of    TEXT,
    -- A skipped file: the settings it came with (JSON), so it can be colorized again later.
    settings        TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (batch_id, name)
);

-- Duplicates are found by content: finished jobs of one original.
CREATE INDEX jobs_original_status ON jobs (original_sha256, status);

-- Full-text search over file names, batch names and review notes. The trigram tokenizer finds
-- any part of a name ("0042" in "HA-1931-0042_castle.tif"), as people expect of file names.
CREATE VIRTUAL TABLE job_search USING fts5(
    job_id UNINDEXED, name, batch_name, note, tokenize = 'trigram'
);
INSERT INTO job_search (job_id, name, batch_name, note)
SELECT jobs.id, jobs.original_name, batches.name, review.note
FROM jobs
LEFT JOIN batches ON batches.id = jobs.batch_id
LEFT JOIN photo_reviews review
       ON review.batch_id = jobs.batch_id AND review.original_sha256 = jobs.original_sha256;

CREATE TRIGGER job_search_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_search (job_id, name, batch_name, note)
    VALUES (NEW.id, NEW.original_name,
            (SELECT name FROM batches WHERE id = NEW.batch_id),
            (SELECT note FROM photo_reviews WHERE batch_id = NEW.batch_id AND original_sha256 = NEW.original_sha256));
END;
CREATE TRIGGER job_search_delete AFTER DELETE ON jobs
BEGIN
    DELETE FROM job_search WHERE job_id = OLD.id;
END;
CREATE TRIGGER job_search_batch_name AFTER UPDATE OF name ON batches
BEGIN
    UPDATE job_search SET batch_name = NEW.name
    WHERE job_id IN (SELECT id FROM jobs WHERE batch_id = NEW.id);
END;
CREATE TRIGGER job_search_note_insert AFTER INSERT ON photo_reviews
BEGIN
    UPDATE job_search SET note = NEW.note
    WHERE job_id IN (SELECT id FROM jobs WHERE batch_id = NEW.batch_id AND original_sha256 = NEW.original_sha256);
END;
CREATE TRIGGER job_search_note_update AFTER UPDATE OF note ON photo_reviews
BEGIN
    UPDATE job_search SET note = NEW.note
    WHERE job_id IN (SELECT id FROM jobs WHERE batch_id = NEW.batch_id AND original_sha256 = NEW.original_sha256);
END;
