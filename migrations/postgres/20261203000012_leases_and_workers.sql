-- Many machines. A running job is leased to one worker process until `lease_until`; the worker
-- renews the lease while it works, and a job whose lease ran out (its worker died) is taken by
-- another. A result recorded by a worker that lost its lease is discarded.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
CREATE INDEX jobs_lease ON jobs (status, lease_until);

-- Every process that runs jobs (`tinct serve` with workers, `tinct worker`), with its last sign
-- of life, for the Admin page.
CREATE TABLE workers (
    id           TEXT PRIMARY KEY NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    device       TEXT NOT NULL,
    model        TEXT NOT NULL,
    job_workers  BIGINT NOT NULL,
    lease_seconds BIGINT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    -- It renews its heartbeat three times per lease; not heard from until then, it is gone.
    alive_until  TEXT NOT NULL,
    stopped_at   TEXT,
    jobs_done    BIGINT NOT NULL DEFAULT 0,
    jobs_failed  BIGINT NOT NULL DEFAULT 0
);
