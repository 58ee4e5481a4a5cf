-- The gallery pages by job id (UUIDv7, so time-ordered) within one status.
CREATE INDEX jobs_status_id ON jobs (status, id);
