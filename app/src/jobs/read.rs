//! Every query that lists or shows jobs, for the pages, the REST API and the ZIP downloads. Each
//! applies the visibility rule of `Principal::visible_jobs`, so nobody reads a job they may not see.

use crate::db::{Backend, Db};

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
    /// Words that must all be found in the file name, the batch name or the review note.
    Words(Vec<String>),
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
        return Some(Search::Like(contains_pattern(search.trim())));
    }
    Some(Search::Words(words.iter().map(|w| w.to_string()).collect()))
}

/// SQLite's full-text query for `words`: every word quoted, so nothing in it is an operator.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `LIKE` pattern that finds `text` anywhere, with `%`, `_` and `\` in it taken literally.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The jobs `who` may see that match `query`.
pub async fn list(db: &Db, who: &Principal, query: &JobQuery) -> Result<Vec<JobRow>, sqlx::Error> {
    let order = match query.order {
        Order::NewestById => "id DESC",
        Order::NewestByCreated => "created_at DESC, id DESC",
        Order::Oldest => "created_at, id",
        Order::Name => "lower(original_name), id DESC",
    };
    let search = query.search.as_deref().and_then(search_terms);
    let (words, like) = match search {
        Some(Search::Words(words)) => (words, None),
        Some(Search::Like(pattern)) => (Vec::new(), Some(pattern)),
        None => (Vec::new(), None),
    };
    // Words: SQLite answers from its trigram full-text index; PostgreSQL matches the same text
    // (the `job_search` view) with one ILIKE pattern per word ($14, $15, …).
    let backend = Backend::of(db);
    let matching = match (words.is_empty(), backend) {
        (true, _) => "TRUE".to_string(),
        (false, Backend::Sqlite) => {
            "id IN (SELECT job_id FROM job_search WHERE job_search MATCH $11)".to_string()
        }
        (false, Backend::Postgres) => format!(
            "id IN (SELECT job_id FROM job_search WHERE {})",
            (0..words.len())
                .map(|i| format!("searched ILIKE ${} ESCAPE '\\'", 14 + i))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs
         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR preset = $2) AND ($3 IS NULL OR batch_id = $3)
               AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5)
               AND ($6 IS NULL OR created_at < $6) AND ($7 IS NULL OR id < $7)
               AND ($9 IS NULL OR review_state = $9) AND ($10 = 0 OR chosen = 1 OR batch_id IS NULL)
               AND ($11 IS NULL OR {matching})
               AND ($12 IS NULL OR lower(original_name) LIKE lower($12) ESCAPE '\\') AND {}
         ORDER BY {order} LIMIT $8 OFFSET $13",
        who.visible_jobs()
    );
    let mut select = sqlx::query_as::<_, JobRow>(&sql)
        .bind(query.status)
        .bind(&query.preset)
        .bind(&query.batch)
        .bind(&query.from_day)
        .bind(query.to_day.as_deref().map(|day| {
            // Before the next day's start; a day that is not a date matches nothing.
            crate::db::day_after(day).unwrap_or_default()
        }))
        .bind(&query.before_created)
        .bind(&query.before_id)
        .bind(query.limit)
        .bind(query.review)
        .bind(i64::from(query.chosen_only))
        .bind((!words.is_empty()).then(|| fts_query(&words)))
        .bind(like)
        .bind(query.offset.max(0));
    if backend == Backend::Postgres {
        for word in &words {
            select = select.bind(contains_pattern(word));
        }
    }
    select.fetch_all(db).await
}

/// One job, if `who` may see it.
pub async fn one(db: &Db, who: &Principal, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs WHERE id = $1 AND {}",
        who.visible_jobs()
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Every version of the photo that job `id` belongs to (its original in its batch), oldest
/// first, if `who` may see the job.
pub async fn versions(db: &Db, who: &Principal, id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM job_rows AS jobs
         WHERE (batch_id, original_sha256) = (SELECT batch_id, original_sha256 FROM jobs WHERE id = $1)
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
pub async fn batch(db: &Db, who: &Principal, batch: &str) -> Result<Vec<JobRow>, sqlx::Error> {
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
    db: &Db,
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
         WHERE ($1 IS NULL OR prompt_id = $1) AND (owner_id = $2 OR $3 = 1)
               AND ($5 = 0 OR EXISTS (SELECT 1 FROM comfy_outputs o JOIN jobs j ON j.id = o.job_id
                                      WHERE o.prompt_id = comfy_prompts.prompt_id
                                        AND j.status IN ('queued', 'running')))
         ORDER BY number DESC LIMIT $4";
    let admin = i64::from(who.role == crate::auth::Role::Admin);
    let unfinished = i64::from(which == Prompts::Unfinished);
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
pub async fn result_key(db: &Db, job_id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT result_key FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// The database's version and the size of the queue: counts of all jobs, like the queue length,
/// no job details (anyone who may read sees them).
pub async fn overview(db: &Db) -> Result<(String, i64, i64), sqlx::Error> {
    let version = match Backend::of(db) {
        Backend::Sqlite => "'SQLite ' || sqlite_version()",
        Backend::Postgres => "'PostgreSQL ' || current_setting('server_version')",
    };
    sqlx::query_as(&format!(
        "SELECT {version}, COUNT(*), COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0)
         FROM jobs"
    ))
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
pub async fn files(db: &Db, who: &Principal, id: &str) -> Result<Option<JobFiles>, sqlx::Error> {
    sqlx::query_as::<_, JobFiles>(&format!(
        "SELECT jobs.id, jobs.status, jobs.original_name, jobs.original_sha256,
                originals.format AS original_format, jobs.result_key, jobs.output_format,
                jobs.colours_key
         FROM jobs JOIN originals ON originals.sha256 = jobs.original_sha256
         WHERE jobs.id = $1 AND {}",
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
    db: &Db,
    who: &Principal,
    ids: &[String],
) -> Result<Vec<JobResult>, sqlx::Error> {
    let placeholders = (1..=ids.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
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
    db: &Db,
    who: &Principal,
    batch: &str,
) -> Result<Vec<JobResult>, sqlx::Error> {
    sqlx::query_as::<_, JobResult>(&format!(
        "SELECT {COLUMNS}, result_key FROM job_rows AS jobs
         WHERE batch_id = $1 AND status = 'done' AND chosen = 1 AND result_key IS NOT NULL AND {}
         ORDER BY lower(original_name)",
        who.visible_jobs()
    ))
    .bind(batch)
    .fetch_all(db)
    .await
}

/// The worker processes that registered, those alive first, newest first.
pub async fn workers(db: &Db) -> Result<Vec<super::WorkerRow>, sqlx::Error> {
    sqlx::query_as::<_, super::WorkerRow>(
        "SELECT id, host, pid, device, model, job_workers, started_at, heartbeat_at, stopped_at,
                jobs_done, jobs_failed,
                CASE WHEN stopped_at IS NULL AND alive_until >= $1 THEN 1 ELSE 0 END AS alive
         FROM workers ORDER BY alive DESC, started_at DESC LIMIT 20",
    )
    .bind(crate::db::now())
    .fetch_all(db)
    .await
}

/// Jobs waiting and running, per model.
pub async fn queue_by_model(db: &Db) -> Result<Vec<super::ModelQueue>, sqlx::Error> {
    sqlx::query_as::<_, super::ModelQueue>(
        "SELECT model, SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued,
                SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running
         FROM jobs WHERE status IN ('queued', 'running') GROUP BY model ORDER BY model",
    )
    .fetch_all(db)
    .await
}

/// How many jobs wait or run (ComfyUI's `queue_remaining`: counts only, no job details).
pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
        .fetch_one(db)
        .await
}

/// Jobs waiting for or running on `model` (a model with such jobs is not removed).
pub async fn pending_for_model(db: &Db, model: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE model = $1 AND status IN ('queued', 'running')",
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
            Some(Search::Words(vec!["castle".into(), "1931".into()]))
        );
        // Operators and quotes are searched for, not obeyed.
        let words: Vec<String> = ["a\"b", "AND", "NEAR"].map(String::from).to_vec();
        assert_eq!(
            search_terms("a\"b AND NEAR"),
            Some(Search::Words(words.clone()))
        );
        assert_eq!(fts_query(&words), "\"a\"\"b\" \"AND\" \"NEAR\"");
        assert_eq!(contains_pattern("1_%\\"), "%1\\_\\%\\\\%");
        assert_eq!(
            search_terms("HA 1_%"),
            Some(Search::Like("%HA 1\\_\\%%".into()))
        );
    }
}
