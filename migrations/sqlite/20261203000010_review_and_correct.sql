-- Review and correct. A photo is one original in one batch; its versions are its jobs: the
-- first colorization, re-runs, and corrected versions made by a person.

-- The version a correction was made from.
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
-- A person's correction (JSON: strength and hints); NULL for a plain model run.
ALTER TABLE jobs ADD COLUMN correction TEXT;
-- Where the model's a/b output for this version is kept (a correction shares its parent's), so
-- corrections never run the model again.
ALTER TABLE jobs ADD COLUMN colours_key TEXT;

-- A photo's finished versions, newest first (the chosen-version lookup of `job_rows`).
CREATE INDEX jobs_photo ON jobs (batch_id, original_sha256, status, id);

-- Every photo's review: to review (no row), approved or rejected, with a note, who decided and
-- when; and the version chosen (NULL: the newest finished one).
CREATE TABLE photo_reviews (
    batch_id        TEXT NOT NULL,
    original_sha256 TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'to_review'
                    CHECK (state IN ('to_review', 'approved', 'rejected')),
    note            TEXT,
    decided_by      TEXT,
    decided_at      TEXT,
    chosen_job_id   TEXT,
    PRIMARY KEY (batch_id, original_sha256)
);

-- A job as every list shows it: with its photo's review and whether it is the chosen version
-- (the one picked, while it is finished; else the newest finished one).
CREATE VIEW job_rows AS
SELECT jobs.*,
       COALESCE(review.state, 'to_review') AS review_state,
       review.note AS review_note,
       review.decided_by AS reviewed_by,
       review.decided_at AS reviewed_at,
       jobs.status = 'done' AND jobs.id IS COALESCE(
           (SELECT c.id FROM jobs c WHERE c.id = review.chosen_job_id AND c.status = 'done'),
           (SELECT v.id FROM jobs v
            WHERE v.batch_id = jobs.batch_id AND v.original_sha256 = jobs.original_sha256
                  AND v.status = 'done'
            ORDER BY v.id DESC LIMIT 1)
       ) AS chosen
FROM jobs
LEFT JOIN photo_reviews review
       ON review.batch_id = jobs.batch_id AND review.original_sha256 = jobs.original_sha256;
