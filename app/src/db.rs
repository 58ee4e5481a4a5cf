//! How the stores use SQLite.

/// Transactions that read and then write take SQLite's write lock at once: two deferred ones
/// that both read and then both try to write fail at once with "database is locked" (the busy
/// timeout cannot help them); immediate ones wait for each other.
pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
