-- Originals are stored once per content hash and never modified; jobs point at them.
CREATE TABLE originals (
    sha256     TEXT PRIMARY KEY NOT NULL,
    bytes      BIGINT NOT NULL,
    format     TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    created_at TEXT NOT NULL DEFAULT tinct_now()
);

ALTER TABLE jobs ADD COLUMN output_format TEXT NOT NULL DEFAULT 'png';
ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN model_sha256 TEXT;
ALTER TABLE jobs ADD COLUMN width BIGINT;
ALTER TABLE jobs ADD COLUMN height BIGINT;
-- Milliseconds per stage (decode, preprocess, inference, postprocess, encode) as JSON.
ALTER TABLE jobs ADD COLUMN timings TEXT;
