-- The ComfyUI-compatible API. Uploaded inputs are originals (stored once per content hash)
-- known by the name the client gave; a prompt is a batch of jobs, one per output node.
CREATE TABLE comfy_uploads (
    subfolder  TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES originals (sha256),
    owner_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT tinct_now(),
    PRIMARY KEY (subfolder, name)
);

CREATE TABLE comfy_prompts (
    prompt_id  TEXT PRIMARY KEY NOT NULL,
    number     BIGINT NOT NULL,
    client_id  TEXT,
    owner_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- The workflow and extra_data as posted, for /history and /queue.
    prompt     TEXT NOT NULL,
    extra_data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT tinct_now()
);

-- Which node of a prompt a job stands for.
CREATE TABLE comfy_outputs (
    job_id        TEXT PRIMARY KEY NOT NULL,
    prompt_id     TEXT NOT NULL REFERENCES comfy_prompts (prompt_id) ON DELETE CASCADE,
    colorize_node TEXT NOT NULL,
    output_node   TEXT NOT NULL,
    output_class  TEXT NOT NULL
);
CREATE INDEX comfy_outputs_prompt ON comfy_outputs (prompt_id);
