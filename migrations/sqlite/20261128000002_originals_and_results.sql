-- Originals are stored once per content hash and never modified; jobs point at them.
CREATE TABLE originals (
    sha256     TEXT PRIMARY KEY NOT NULL,
    bytes      INTEGER NOT NULL,
    format     TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

ALTER TABLE jobs ADD COLUMN output_format TEXT NOT NULL DEFAULT 'png';
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN model_sha256 TEXT;
ALTER TABLE jobs ADD COLUMN width INTEGER;
ALTER TABLE jobs ADD COLUMN height INTEGER;
-- Milliseconds per stage (decode, preprocess, inference, postprocess, encode) as JSON.
ALTER TABLE jobs ADD COLUMN timings TEXT;
