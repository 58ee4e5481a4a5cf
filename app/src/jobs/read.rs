//! Every query that lists or shows jobs, for the pages, the REST API and the ZIP downloads. Each
//! applies the visibility rule of `Principal::visible_jobs`, so nobody reads a job they may not see.

use sqlx::SqlitePool;

use super::{JobRow, JobStatus, ReviewState};
use crate::auth::Principal;

const COLUMNS: &str = "id, batch_id, original_name, original_sha256, preset, input_size, model,
    model_sha256, output_format, visible_label, status, submitted_by, error, attempts, width,
    height, timings, content_credentials, created_at, started_at, finished_at, parent_id,
    correction, review_state, review_note, reviewed_by, reviewed_at, chosen";

/// Which end of the list comes first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest first by id (ids are time-ordered UUIDv7), paging with `before_id`.
    #[default]
    NewestById,
    /// Newest first by creation time, paging with `before_created`.
    NewestByCreated,
    /// Oldest first (a batch in the order it was sent).
    Oldest,
    /// By file name (then newest first), paging with `offset`.
    Name,
}

/// A filter over the jobs; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    /// Photos in this review state.
    pub review: Option<ReviewState>,
    /// Only each photo's chosen version (the gallery shows photos, not every version).
    pub chosen_only: bool,
    pub preset: Option<String>,
    pub batch: Option<String>,
    /// Created on or after this day (`YYYY-MM-DD`).
    pub from_day: Option<String>,
    /// Created on or before this day (`YYYY-MM-DD`).
    pub to_day: Option<String>,
    /// Paging: only jobs created before this `created_at` value.
    pub before_created: Option<String>,
    /// Paging: only jobs whose id sorts below this one.
    pub before_id: Option<String>,
    /// Words to find in the file name, the batch name or the review note (all of them).
    pub search: Option<String>,
    pub order: Order,
    pub limit: i64,
    /// Rows skipped first (paging by name).
    pub offset: i64,
}

/// How a search is answered.
#[derive(Debug, PartialEq)]
enum Search {
    /// An FTS5 query: every word quoted (so nothing in it is an operator), all of them required.
    Words(String),
    /// A `LIKE` pattern on the file name: the trigram index finds parts of words of 3 characters
    /// or more, so a search with a shorter word is answered this way.
    Like(String),
}

fn search_terms(search: &str) -> Option<Search> {
    let words: Vec<&str> = search.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    if words.iter().any(|w| w.chars().count() < 3) {
        let escaped = search
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        return Some(Search::Like(format!("%{escaped}%")));
    }
    Some(Search::Words(
        words
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

/// The jobs `who` may see that match `query`.
pub async fn list(
    db: &SqlitePool,
    who: &Principal,
    query: &JobQuery,
) -> Result<Vec<JobRow>, sqlx::Error> {
    let order = match query.order {
        Order::NewestById => "id DESC",
        Order::NewestByCreated => "created_at DESC, id DESC",
        Order::Oldest => "created_at, id",
        Order::Name => "original_name COLLATE NOCASE, id DESC",
    };
    let search = query.search.as_deref().and_then(search_terms);
    let (matching, like) = match search {
        Some(Search::Words(words)) => (Some(words), None),
        Some(Search::Like(pattern)) => (None, Some(pattern)),
        None => (None, None),
    };
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR preset = ?2) AND (?3 IS NULL OR batch_id = ?3)
               AND (?4 IS NULL OR created_at >= ?4) AND (?5 IS NULL OR created_at < date(?5, '+1 day'))
               AND (?6 IS NULL OR created_at < ?6) AND (?7 IS NULL OR id < ?7)
               AND (?9 IS NULL OR review_state = ?9) AND (NOT ?10 OR chosen OR batch_id IS NULL)
               AND (?11 IS NULL OR id IN (SELECT job_id FROM job_search WHERE job_search MATCH ?11))
               AND (?12 IS NULL OR original_name LIKE ?12 ESCAPE '\\') AND {}
         ORDER BY {order} LIMIT ?8 OFFSET ?13",
        who.visible_jobs()
    ))
    .bind(query.status)
    .bind(&query.preset)
    .bind(&query.batch)
    .bind(&query.from_day)
    .bind(&query.to_day)
    .bind(&query.before_created)
    .bind(&query.before_id)
    .bind(query.limit)
    .bind(query.review)
    .bind(query.chosen_only)
    .bind(matching)
    .bind(like)
    .bind(query.offset.max(0))
    .fetch_all(db)
    .await
}

/// One job, if `who` may see it.
pub async fn one(
    db: &SqlitePool,
    who: &Principal,
    id: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs WHERE id = ? AND {}",
        who.visible_jobs()
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Every version of the photo that job `id` belongs to (its original in its batch), oldest
/// first, if `who` may see the job.
pub async fn versions(
    db: &SqlitePool,
    who: &Principal,
    id: &str,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs
         WHERE (batch_id, original_sha256) = (SELECT batch_id, original_sha256 FROM jobs WHERE id = ?1)
               AND {}
         ORDER BY id",
        who.visible_jobs()
    ))
    .bind(id)
    .fetch_all(db)
    .await
}

/// Jobs of one batch a page shows at most.
pub const BATCH_LIMIT: i64 = 10_000;

/// The jobs of one batch that `who` may see, in the order they were sent.
pub async fn batch(
    db: &SqlitePool,
    who: &Principal,
    batch: &str,
) -> Result<Vec<JobRow>, sqlx::Error> {
    list(
        db,
        who,
        &JobQuery {
            batch: Some(batch.to_string()),
            order: Order::Oldest,
            limit: BATCH_LIMIT,
            ..JobQuery::default()
        },
    )
    .await
}

/// A ComfyUI prompt as stored (its jobs form the batch named by its id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComfyPromptRow {
    pub prompt_id: String,
    pub number: i64,
    pub client_id: Option<String>,
    /// The workflow as posted (JSON).
    pub prompt: String,
    /// `extra_data` as posted, with the client id (JSON).
    pub extra_data: String,
}

/// One output node of a ComfyUI prompt, with the state of the job that stands for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComfyOutputRow {
    pub prompt_id: String,
    pub job_id: String,
    pub colorize_node: String,
    pub output_node: String,
    pub output_class: String,
    pub status: JobStatus,
    pub error: Option<String>,
    pub output_format: String,
}

/// Which ComfyUI prompts to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompts<'a> {
    /// The newest ones.
    Newest,
    /// Those with an image still waiting or running (the queue).
    Unfinished,
    One(&'a str),
}

/// ComfyUI prompts `who` may see (their own; an admin's: all), newest first, each with its
/// outputs.
pub async fn comfy_prompts(
    db: &SqlitePool,
    who: &Principal,
    which: Prompts<'_>,
    limit: i64,
) -> Result<Vec<(ComfyPromptRow, Vec<ComfyOutputRow>)>, sqlx::Error> {
    let only = match which {
        Prompts::One(id) => Some(id),
        _ => None,
    };
    // The same choice of prompts for both queries: the prompts, then all their outputs at once.
    const CHOSEN: &str = "SELECT prompt_id FROM comfy_prompts
         WHERE (?1 IS NULL OR prompt_id = ?1) AND (owner_id = ?2 OR ?3)
               AND (NOT ?5 OR EXISTS (SELECT 1 FROM comfy_outputs o JOIN jobs j ON j.id = o.job_id
                                      WHERE o.prompt_id = comfy_prompts.prompt_id
                                        AND j.status IN ('queued', 'running')))
         ORDER BY number DESC LIMIT ?4";
    let admin = who.role == crate::auth::Role::Admin;
    let unfinished = which == Prompts::Unfinished;
    let prompts = sqlx::query_as::<_, ComfyPromptRow>(&format!(
        "SELECT prompt_id, number, client_id, prompt, extra_data FROM comfy_prompts
         WHERE prompt_id IN ({CHOSEN}) ORDER BY number DESC"
    ))
    .bind(only)
    .bind(who.user_id)
    .bind(admin)
    .bind(limit)
    .bind(unfinished)
    .fetch_all(db)
    .await?;
    let outputs = sqlx::query_as::<_, ComfyOutputRow>(&format!(
        "SELECT o.prompt_id, o.job_id, o.colorize_node, o.output_node, o.output_class, j.status, j.error,
                j.output_format
         FROM comfy_outputs o JOIN jobs j ON j.id = o.job_id
         WHERE o.prompt_id IN ({CHOSEN}) ORDER BY o.output_node"
    ))
    .bind(only)
    .bind(who.user_id)
    .bind(admin)
    .bind(limit)
    .bind(unfinished)
    .fetch_all(db)
    .await?;
    let mut by_prompt: std::collections::HashMap<String, Vec<ComfyOutputRow>> =
        std::collections::HashMap::new();
    for output in outputs {
        by_prompt
            .entry(output.prompt_id.clone())
            .or_default()
            .push(output);
    }
    Ok(prompts
        .into_iter()
        .map(|prompt| {
            let outputs = by_prompt.remove(&prompt.prompt_id).unwrap_or_default();
            (prompt, outputs)
        })
        .collect())
}

/// Where a finished job's result is stored, if it has one.
pub async fn result_key(db: &SqlitePool, job_id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT result_key FROM jobs WHERE id = ?")
            .bind(job_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// The database's version and the size of the queue: counts of all jobs, like the queue length,
/// no job details (anyone who may read sees them).
pub async fn overview(db: &SqlitePool) -> Result<(String, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT sqlite_version(), COUNT(*), COALESCE(SUM(status = 'queued'), 0) FROM jobs",
    )
    .fetch_one(db)
    .await
}

/// Where a job's files are, for serving them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobFiles {
    pub id: String,
    pub status: JobStatus,
    pub original_name: String,
    pub original_sha256: String,
    /// The original's format as stored (`png`, `jpeg`, `tiff`, …).
    pub original_format: String,
    pub result_key: Option<String>,
    /// `png` or `jpeg`.
    pub output_format: String,
    /// Where the model's colours of this version are kept (for corrections).
    pub colours_key: Option<String>,
}

/// A job's files, if `who` may see the job.
pub async fn files(
    db: &SqlitePool,
    who: &Principal,
    id: &str,
) -> Result<Option<JobFiles>, sqlx::Error> {
    sqlx::query_as::<_, JobFiles>(&format!(
        "SELECT jobs.id, jobs.status, jobs.original_name, jobs.original_sha256,
                originals.format AS original_format, jobs.result_key, jobs.output_format,
                jobs.colours_key
         FROM jobs JOIN originals ON originals.sha256 = jobs.original_sha256
         WHERE jobs.id = ? AND {}",
        who.visible_jobs()
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A finished job with the key of its result.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobResult {
    #[sqlx(flatten)]
    pub job: JobRow,
    pub result_key: String,
}

/// The finished jobs among `ids` that `who` may see, in the order they finished.
pub async fn results(
    db: &SqlitePool,
    who: &Principal,
    ids: &[String],
) -> Result<Vec<JobResult>, sqlx::Error> {
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT {COLUMNS}, result_key FROM job_rows AS jobs
         WHERE status = 'done' AND result_key IS NOT NULL AND id IN ({placeholders}) AND {}
         ORDER BY finished_at",
        who.visible_jobs()
    );
    let mut select = sqlx::query_as::<_, JobResult>(&sql);
    for id in ids {
        select = select.bind(id);
    }
    select.fetch_all(db).await
}

/// The chosen finished version of every photo of a batch `who` may see, in name order.
pub async fn batch_results(
    db: &SqlitePool,
    who: &Principal,
    batch: &str,
) -> Result<Vec<JobResult>, sqlx::Error> {
    sqlx::query_as::<_, JobResult>(&format!(
        "SELECT {COLUMNS}, result_key FROM job_rows AS jobs
         WHERE batch_id = ? AND status = 'done' AND chosen AND result_key IS NOT NULL AND {}
         ORDER BY original_name COLLATE NOCASE",
        who.visible_jobs()
    ))
    .bind(batch)
    .fetch_all(db)
    .await
}

/// The worker processes that registered, those alive first, newest first.
pub async fn workers(db: &SqlitePool) -> Result<Vec<super::WorkerRow>, sqlx::Error> {
    sqlx::query_as::<_, super::WorkerRow>(
        "SELECT id, host, pid, device, model, job_workers, started_at, heartbeat_at, stopped_at,
                jobs_done, jobs_failed,
                (stopped_at IS NULL AND heartbeat_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || lease_seconds || ' seconds')) AS alive
         FROM workers ORDER BY alive DESC, started_at DESC LIMIT 20",
    )
    .fetch_all(db)
    .await
}

/// Jobs waiting and running, per model.
pub async fn queue_by_model(db: &SqlitePool) -> Result<Vec<super::ModelQueue>, sqlx::Error> {
    sqlx::query_as::<_, super::ModelQueue>(
        "SELECT model, SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued,
                SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running
         FROM jobs WHERE status IN ('queued', 'running') GROUP BY model ORDER BY model",
    )
    .fetch_all(db)
    .await
}

/// How many jobs wait or run (ComfyUI's `queue_remaining`: counts only, no job details).
pub async fn pending_count(db: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
        .fetch_one(db)
        .await
}

/// Jobs waiting for or running on `model` (a model with such jobs is not removed).
pub async fn pending_for_model(db: &SqlitePool, model: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE model = ? AND status IN ('queued', 'running')",
    )
    .bind(model)
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_quoted_words_or_a_like_pattern() {
        assert_eq!(search_terms("  "), None);
        assert_eq!(
            search_terms("castle 1931"),
            Some(Search::Words("\"castle\" \"1931\"".into()))
        );
        // Operators and quotes are searched for, not obeyed.
        assert_eq!(
            search_terms("a\"b AND NEAR"),
            Some(Search::Words("\"a\"\"b\" \"AND\" \"NEAR\"".into()))
        );
        assert_eq!(
            search_terms("HA 1_%"),
            Some(Search::Like("%HA 1\\_\\%%".into()))
        );
    }
}
