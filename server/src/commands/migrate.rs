//! `tinct migrate`: moves an installation to other engines (SQLite → PostgreSQL, a local folder
//! → an S3-compatible store, or back) and checks that everything arrived: every table's row
//! count and a checksum of its rows, every object's size and SHA-256.

use std::process::ExitCode;

use app::db::{Backend, Db};
use app::storage::{ObjectKey, ObjectStore, StorageLocation};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::io::AsyncWriteExt;

use crate::config::{Common, MigrateArgs};
use crate::error::CommandError;

/// The tables that make an installation, parents before children, each with the columns that
/// order its rows. Sessions (people sign in again), worker registrations and the migrations'
/// own bookkeeping stay behind.
const TABLES: [(&str, &str); 12] = [
    ("users", "id"),
    ("api_tokens", "id"),
    ("originals", "sha256"),
    ("batches", "id"),
    ("jobs", "id"),
    ("comfy_prompts", "prompt_id"),
    ("comfy_outputs", "job_id"),
    ("comfy_uploads", "owner_id, subfolder, name"),
    ("photo_reviews", "batch_id, original_sha256"),
    ("batch_files", "batch_id, name"),
    ("idempotency_keys", "owner_id, key"),
    ("user_id_high_water", "last_id"),
];

/// The object folders of a store.
const FOLDERS: [&str; 4] = ["originals", "results", "colours", "previews"];

pub fn run(common: &Common, args: &MigrateArgs) -> Result<ExitCode, CommandError> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?;
    runtime.block_on(migrate(common, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn migrate(common: &Common, args: &MigrateArgs) -> Result<(), CommandError> {
    let mut did = false;
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        // Opening a SQLite file that is not there would create it: an empty source.
        if let Some(file) = from.strip_prefix("sqlite://") {
            let file = file.split('?').next().unwrap_or(file);
            if !std::path::Path::new(file).exists() {
                return Err(CommandError::Invalid(format!("no database at {file}")));
            }
        }
        let source = crate::db::connect(Some(from), &common.data_dir).await?;
        let target = crate::db::connect(Some(to), &common.data_dir).await?;
        copy_database(&source, &target).await?;
        did = true;
    }
    if let (Some(from), Some(to)) = (&args.storage_from, &args.storage_to) {
        let source = store(from, args)?;
        let target = store(to, args)?;
        let temp = common.data_dir.join("tmp");
        std::fs::create_dir_all(&temp)
            .map_err(|e| CommandError::io(format!("cannot create {}", temp.display()), e))?;
        copy_objects(source.as_ref(), target.as_ref(), &temp).await?;
        did = true;
    }
    if !did {
        return Err(CommandError::Invalid(
            "nothing to move: give --from and --to (databases), --storage-from and --storage-to (object stores), or both".into(),
        ));
    }
    Ok(())
}

fn store(url: &str, args: &MigrateArgs) -> Result<std::sync::Arc<dyn ObjectStore>, CommandError> {
    let mut location = StorageLocation::from_url(url)?;
    if let StorageLocation::S3(settings) = &mut location {
        settings.endpoint = args.s3_endpoint.clone();
        settings.region = args.s3_region.clone();
    }
    Ok(location.open()?)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let progress = ProgressBar::new(len);
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg:24} {wide_bar} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(what.to_string());
    progress
}

/// A column and whether it holds integers (else text): the only two kinds Tinct stores.
async fn columns(db: &Db, table: &str) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let listed: Vec<(String, String)> = match Backend::of(db) {
        Backend::Sqlite => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(db)
                .await?
        }
        Backend::Postgres => {
            sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(db)
            .await?
        }
    };
    Ok(listed
        .into_iter()
        .map(|(name, kind)| {
            let integer = kind.to_ascii_lowercase().contains("int");
            (name, integer)
        })
        .collect())
}

/// One value of a row, as read from either database.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
}

fn read_row(
    row: &sqlx::any::AnyRow,
    columns: &[(String, bool)],
) -> Result<Vec<Value>, sqlx::Error> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, integer))| {
            Ok(if *integer {
                Value::Integer(row.try_get(i)?)
            } else {
                Value::Text(row.try_get(i)?)
            })
        })
        .collect()
}

fn select(table: &str, order: &str, columns: &[(String, bool)]) -> String {
    let names: Vec<String> = columns.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "))
}

/// Copies every table into an empty database, then compares both, table by table.
async fn copy_database(source: &Db, target: &Db) -> Result<(), CommandError> {
    let occupied: i64 =
        sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM jobs)")
            .fetch_one(target)
            .await?;
    if occupied > 0 {
        return Err(CommandError::Invalid(
            "the target database already holds users or jobs: migrate into a new, empty database"
                .into(),
        ));
    }
    for (table, order) in TABLES {
        let columns = columns(target, table).await?;
        let rows = sqlx::query(&select(table, order, &columns))
            .fetch_all(source)
            .await?;
        let progress = bar(rows.len() as u64, table);
        let mut tx = target.begin().await?;
        for row in &rows {
            let values = read_row(row, &columns)?;
            // The high-water mark has its one row already; it takes the source's value.
            let sql = if table == "user_id_high_water" {
                "UPDATE user_id_high_water SET last_id = $2 WHERE \"only\" = $1".to_string()
            } else {
                let names: Vec<String> = columns.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                let places: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    places.join(", ")
                )
            };
            let mut insert = sqlx::query(&sql);
            for value in values {
                insert = match value {
                    Value::Integer(v) => insert.bind(v),
                    Value::Text(v) => insert.bind(v),
                };
            }
            insert.execute(&mut *tx).await?;
            progress.inc(1);
        }
        tx.commit().await?;
        progress.finish_and_clear();
        let (copied, same) = (
            table_digest(source, table, order, &columns).await?,
            table_digest(target, table, order, &columns).await?,
        );
        if copied != same {
            return Err(CommandError::Invalid(format!(
                "{table}: {} rows in the source, {} arrived, or their contents differ; the target is incomplete",
                copied.0, same.0
            )));
        }
        println!(
            "{table}: {} rows copied and checked (sha256 {})",
            copied.0,
            &copied.1[..16]
        );
    }
    Ok(())
}

/// A table's row count and the SHA-256 of all its values in key order.
async fn table_digest(
    db: &Db,
    table: &str,
    order: &str,
    columns: &[(String, bool)],
) -> Result<(usize, String), sqlx::Error> {
    let rows = sqlx::query(&select(table, order, columns))
        .fetch_all(db)
        .await?;
    let mut hash = Sha256::new();
    for row in &rows {
        for value in read_row(row, columns)? {
            match value {
                Value::Integer(Some(n)) => hash.update(format!("i{n};")),
                Value::Text(Some(t)) => hash.update(format!("t{}:{t};", t.len())),
                Value::Integer(None) | Value::Text(None) => hash.update("n;"),
            }
        }
        hash.update("\n");
    }
    Ok((rows.len(), hex::encode(hash.finalize())))
}

/// Copies every object, a file at a time through the local disk (a large scan is never whole in
/// memory), and reads each back from the target to check its SHA-256.
async fn copy_objects(
    source: &dyn ObjectStore,
    target: &dyn ObjectStore,
    temp: &std::path::Path,
) -> Result<(), CommandError> {
    for folder in FOLDERS {
        let objects = source.list(folder).await?;
        let progress = bar(objects.len() as u64, folder);
        for (key, size) in &objects {
            let sent = spool(source, key, temp).await?;
            target.put_file(key, &sent.0).await?;
            let arrived = digest(target, key).await?;
            if arrived != (sent.1, *size) {
                return Err(CommandError::Invalid(format!(
                    "{} changed on the way (sha256 or size differ); the target is incomplete",
                    key.as_str()
                )));
            }
            progress.inc(1);
        }
        progress.finish_and_clear();
        let listed = target.list(folder).await?;
        let missing = objects
            .iter()
            .filter(|(key, _)| !listed.iter().any(|(k, _)| k == key))
            .count();
        if missing > 0 {
            return Err(CommandError::Invalid(format!(
                "{folder}: {missing} of {} objects are missing from the target",
                objects.len()
            )));
        }
        println!("{folder}: {} objects copied and checked", objects.len());
    }
    Ok(())
}

/// Writes an object to a temporary file; its path and SHA-256.
async fn spool(
    store: &dyn ObjectStore,
    key: &ObjectKey,
    temp: &std::path::Path,
) -> Result<(std::path::PathBuf, String), CommandError> {
    let path = temp.join(format!("migrate-{}", uuid::Uuid::now_v7()));
    let io = |e| CommandError::io(format!("cannot write {}", path.display()), e);
    let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
    let (_, mut stream) = store.get_stream(key).await?;
    let mut hash = Sha256::new();
    while let Some(chunk) = stream.try_next().await? {
        hash.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok((path, hex::encode(hash.finalize())))
}

/// An object's SHA-256 and size, as stored.
async fn digest(store: &dyn ObjectStore, key: &ObjectKey) -> Result<(String, u64), CommandError> {
    let (_, mut stream) = store.get_stream(key).await?;
    let (mut hash, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.try_next().await? {
        size += chunk.len() as u64;
        hash.update(&chunk);
    }
    Ok((hex::encode(hash.finalize()), size))
}
