//! The database: SQLite (the default) or PostgreSQL, through sqlx's `Any` driver, so that every
//! query is written once and runs on both. The rules that make that work: `$N` placeholders (both
//! accept them), integers for flags (read back through `Flag`), timestamps made here rather than by
//! the database's own date functions, and text comparisons made case-blind with `lower()`.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};

/// A pool of connections to either database.
pub type Db = sqlx::AnyPool;

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(db: &Db) -> Backend {
        match db.connect_options().database_url.scheme() {
            "postgres" | "postgresql" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// Starts a transaction that reads and then writes. SQLite takes its write lock at once: two
/// deferred ones that both read and then both try to write fail at once with "database is locked"
/// (the busy timeout cannot help them); immediate ones wait for each other. PostgreSQL's row locks
/// need nothing special.
pub async fn begin_write(db: &Db) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
    match Backend::of(db) {
        Backend::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => db.begin().await,
    }
}

/// The time as every timestamp column holds it: UTC, ISO 8601 with milliseconds
/// (`2026-12-03T19:01:12.441Z`), so that text order is time order.
pub fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

/// The time `seconds` from now (in the past when negative), as `now` writes it.
pub fn now_plus(seconds: i64) -> String {
    timestamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
}

fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// The day after `day` (`YYYY-MM-DD`), for "created on or before this day"; `None` when `day` is
/// not a date.
pub fn day_after(day: &str) -> Option<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let next = time::Date::parse(day, &format).ok()?.next_day()?;
    next.format(&format).ok()
}

/// A yes/no value read from the database: SQLite answers an integer (0 or 1), PostgreSQL a
/// boolean for comparisons and `EXISTS`. Flags are stored as integers in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty) || <bool as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <i64 as Decode<Any>>::decode(value.clone()) {
            Ok(number) => Ok(Flag(number != 0)),
            Err(_) => <bool as Decode<Any>>::decode(value).map(Flag),
        }
    }
}

/// Reads a status stored as text (`done`, `to_review`) through the type's serde names, which
/// are the names it is stored under.
fn decode_text<T: serde::de::DeserializeOwned>(value: AnyValueRef<'_>) -> Result<T, BoxDynError> {
    use serde::de::value::{Error, StrDeserializer};
    let text = <&str as Decode<Any>>::decode(value)?;
    Ok(T::deserialize(StrDeserializer::<Error>::new(text))?)
}

/// Statuses stored as text, read through the `Any` driver.
macro_rules! stored_as_text {
    ($($t:ty),* $(,)?) => {$(
        impl Type<Any> for $t {
            fn type_info() -> AnyTypeInfo {
                <str as Type<Any>>::type_info()
            }
        }

        impl<'r> Decode<'r, Any> for $t {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                decode_text(value)
            }
        }
    )*};
}

stored_as_text!(
    crate::jobs::JobStatus,
    crate::jobs::ReviewState,
    crate::jobs::batches::FileState,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_text_and_days_roll_over() {
        let (earlier, later) = (now(), now_plus(90));
        assert_eq!(earlier.len(), "2026-12-03T19:01:12.441Z".len());
        assert!(earlier.ends_with('Z') && earlier < later);
        assert_eq!(day_after("2026-12-31").as_deref(), Some("2027-01-01"));
        assert_eq!(day_after("2026-02-28").as_deref(), Some("2026-03-01"));
        assert_eq!(day_after("31/12/2026"), None);
    }
}
