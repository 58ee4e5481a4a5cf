//! Batches: named groups of jobs (one upload, one API submission, one ComfyUI prompt), and the
//! files of a batch that are not jobs (listed but not uploaded, refused, skipped as already
//! colorized). The types travel to the browser; the SQL (server only) is the one place that
//! reads and writes the `batches` and `batch_files` tables.

use serde::{Deserialize, Serialize};

/// A batch as the Batches page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct BatchSummary {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    /// Photos queued or running.
    pub waiting: i64,
    pub done: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Files refused at upload, skipped as duplicates, or listed and never uploaded.
    pub not_jobs: i64,
}

impl BatchSummary {
    pub fn jobs(&self) -> i64 {
        self.waiting + self.done + self.failed + self.cancelled
    }
    /// Finished jobs out of all jobs, 0–100.
    pub fn percent_finished(&self) -> i64 {
        match self.jobs() {
            0 => 0,
            jobs => (self.done + self.failed + self.cancelled) * 100 / jobs,
        }
    }
}

/// Where a file of a batch that is not a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "lowercase"))]
pub enum FileState {
    /// Chosen on the page, but its upload never finished (a reload, a closed tab).
    Listed,
    /// Refused at upload, with the reason.
    Refused,
    /// The same content was already colorized; not queued again.
    Skipped,
}

/// A file of a batch that is not a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct BatchFile {
    pub name: String,
    pub bytes: Option<i64>,
    pub state: FileState,
    pub message: Option<String>,
    /// A skipped file: the newest finished job of the same content, and how many there are.
    pub duplicate_of: Option<String>,
    pub colorized_times: i64,
}

/// A batch's name and description, and the files that are not jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchDetail {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub files: Vec<BatchFile>,
}

/// What an upload does with content that was already colorized (in any batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Colorize it again; the row says how often it was done before.
    #[default]
    Colorize,
    /// Do not queue it; the row says so and offers to colorize it after all.
    Skip,
}

impl Duplicates {
    /// `colorize` (or `again`) and `skip`, as forms and the API send them.
    pub fn parse(text: &str) -> Option<Duplicates> {
        match text {
            "colorize" | "again" => Some(Duplicates::Colorize),
            "skip" => Some(Duplicates::Skip),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Duplicates::Colorize => "colorize",
            Duplicates::Skip => "skip",
        }
    }
}

/// The longest batch name and description kept.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// What a row says of content colorized before.
pub fn already_colorized(times: i64) -> String {
    match times {
        1 => "already colorized once".to_string(),
        n => format!("already colorized {n} times"),
    }
}

/// A name or description as kept: no control characters, trimmed, bounded; `None` when blank.
pub fn clean_text(text: &str, max_chars: usize) -> Option<String> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_string())
}

/// A user's file name as metadata: the last path component, no control characters, bounded.
pub fn sanitize_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "image".into(),
        trimmed => trimmed.to_string(),
    }
}

#[cfg(feature = "ssr")]
pub use store::*;

#[cfg(feature = "ssr")]
mod store {
    use crate::db::Db;
    use sqlx::AnyConnection;

    use super::{BatchDetail, BatchFile, BatchSummary, FileState};
    use crate::auth::Principal;

    /// Makes sure batch `id` has a row: a new one is named `name`, or after the time it was
    /// started. An existing batch keeps its name.
    pub async fn ensure(
        db: &mut AnyConnection,
        id: &str,
        name: Option<&str>,
        owner_id: Option<i64>,
        created_by: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let started = crate::db::now();
        let name = match name {
            Some(name) => name.to_string(),
            // `Scans of 2026-12-03 19:01 UTC`
            None => format!("Scans of {} UTC", started[..16].replace('T', " ")),
        };
        sqlx::query(
            "INSERT INTO batches (id, name, owner_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(owner_id)
        .bind(created_by)
        .bind(started)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Names a batch (made if new) and sets its description; only its owner calls this.
    pub async fn name(
        db: &Db,
        id: &str,
        name: &str,
        description: Option<&str>,
        who: &Principal,
    ) -> Result<(), sqlx::Error> {
        let mut tx = db.begin().await?;
        ensure(&mut tx, id, Some(name), Some(who.user_id), Some(&who.name)).await?;
        sqlx::query("UPDATE batches SET name = $1, description = $2 WHERE id = $3")
            .bind(name)
            .bind(description)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Whether batch `id` belongs to someone other than `owner_id` (by its row or its jobs).
    pub async fn of_another(db: &Db, id: &str, owner_id: i64) -> Result<bool, sqlx::Error> {
        let crate::db::Flag(other) = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM batches WHERE id = $1 AND owner_id IS DISTINCT FROM $2)
                 OR EXISTS (SELECT 1 FROM jobs WHERE batch_id = $1 AND owner_id IS DISTINCT FROM $2)",
        )
        .bind(id)
        .bind(owner_id)
        .fetch_one(db)
        .await?;
        Ok(other)
    }

    /// Records files chosen on the page before their upload starts, so a reload shows which
    /// never arrived. Files already known to the batch are left as they are.
    pub async fn list_files(db: &Db, id: &str, files: &[(String, i64)]) -> Result<(), sqlx::Error> {
        let mut tx = db.begin().await?;
        for (name, bytes) in files {
            sqlx::query(
                "INSERT INTO batch_files (batch_id, name, bytes, state)
                 SELECT $1, $2, $3, 'listed'
                 WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE batch_id = $1 AND original_name = $2)
                 ON CONFLICT (batch_id, name) DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// A file the batch keeps as not a job: refused (with the reason) or skipped (with the
    /// original and the job it duplicates, and the settings to colorize it again with). The
    /// owner names who started the batch, should this file be its first.
    pub struct KeptFile<'a> {
        pub owner_id: Option<i64>,
        pub created_by: Option<&'a str>,
        pub name: &'a str,
        pub state: FileState,
        pub message: &'a str,
        pub original_sha256: Option<&'a str>,
        pub duplicate_of: Option<&'a str>,
        pub settings: Option<String>,
    }

    pub async fn keep_file(db: &Db, id: &str, file: KeptFile<'_>) -> Result<(), sqlx::Error> {
        let mut tx = db.begin().await?;
        ensure(&mut tx, id, None, file.owner_id, file.created_by).await?;
        sqlx::query(
            "INSERT INTO batch_files (batch_id, name, state, message, original_sha256, duplicate_of, settings)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (batch_id, name) DO UPDATE SET state = excluded.state, message = excluded.message,
                 original_sha256 = excluded.original_sha256, duplicate_of = excluded.duplicate_of,
                 settings = excluded.settings",
        )
        .bind(id)
        .bind(file.name)
        .bind(file.state)
        .bind(file.message)
        .bind(file.original_sha256)
        .bind(file.duplicate_of)
        .bind(file.settings)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The settings a skipped file came with, kept to colorize it after all.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub struct SkippedSettings {
        pub preset: String,
        pub input_size: u32,
        pub model: String,
        pub output_format: String,
        pub visible_label: Option<String>,
        pub private: bool,
    }

    /// A skipped file's original and settings, to colorize it after all.
    pub async fn skipped(
        db: &Db,
        id: &str,
        name: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT original_sha256, settings FROM batch_files
             WHERE batch_id = $1 AND name = $2 AND state = 'skipped'
                   AND original_sha256 IS NOT NULL AND settings IS NOT NULL",
        )
        .bind(id)
        .bind(name)
        .fetch_optional(db)
        .await
    }

    /// How many finished jobs `who` may see were made from this content, and the newest.
    pub async fn colorized_before(
        db: &Db,
        who: &Principal,
        sha256: &str,
    ) -> Result<(i64, Option<String>), sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT COUNT(*), MAX(id) FROM jobs WHERE original_sha256 = $1 AND status = 'done' AND {}",
            who.visible_jobs()
        ))
        .bind(sha256)
        .fetch_one(db)
        .await
    }

    /// Batches `who` may see, newest first: their own, and any holding a job they may see.
    pub async fn list(
        db: &Db,
        who: &Principal,
        limit: i64,
    ) -> Result<Vec<BatchSummary>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT b.id, b.name, b.description, b.created_by, b.created_at,
                    COUNT(*) FILTER (WHERE jobs.status IN ('queued', 'running')) AS waiting,
                    COUNT(*) FILTER (WHERE jobs.status = 'done') AS done,
                    COUNT(*) FILTER (WHERE jobs.status = 'failed') AS failed,
                    COUNT(*) FILTER (WHERE jobs.status = 'cancelled') AS cancelled,
                    (SELECT COUNT(*) FROM batch_files f WHERE f.batch_id = b.id) AS not_jobs
             FROM batches b
             LEFT JOIN jobs ON jobs.batch_id = b.id AND {visible}
             WHERE b.owner_id = $1 OR $2 = 1 OR EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = b.id AND {visible})
             GROUP BY b.id
             ORDER BY b.created_at DESC, b.id DESC
             LIMIT $3",
            visible = who.visible_jobs()
        ))
        .bind(who.user_id)
        .bind(i64::from(who.role == crate::auth::Role::Admin))
        .bind(limit)
        .fetch_all(db)
        .await
    }

    /// A batch's name, description and files that are not jobs, if `who` may see it.
    pub async fn detail(
        db: &Db,
        who: &Principal,
        id: &str,
    ) -> Result<Option<BatchDetail>, sqlx::Error> {
        let head: Option<(String, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT b.id, b.name, b.description FROM batches b
             WHERE b.id = $1 AND (b.owner_id = $2 OR $3 = 1
                   OR EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = b.id AND {}))",
            who.visible_jobs()
        ))
        .bind(id)
        .bind(who.user_id)
        .bind(i64::from(who.role == crate::auth::Role::Admin))
        .fetch_optional(db)
        .await?;
        let Some((id, name, description)) = head else {
            return Ok(None);
        };
        let files: Vec<BatchFile> = sqlx::query_as(&format!(
            "SELECT name, bytes, state, message, duplicate_of,
                    (SELECT COUNT(*) FROM jobs WHERE jobs.original_sha256 = f.original_sha256
                         AND jobs.status = 'done' AND {}) AS colorized_times
             FROM batch_files f WHERE batch_id = $1 ORDER BY name",
            who.visible_jobs()
        ))
        .bind(&id)
        .fetch_all(db)
        .await?;
        Ok(Some(BatchDetail {
            id,
            name,
            description,
            files,
        }))
    }
}
