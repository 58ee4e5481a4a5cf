//! Structured logs on stderr, filtered by `--log-level` / `TINCT_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    // The c2pa crate reports every signing step at info level; its warnings are what matter.
    let filter = match "c2pa=warn".parse() {
        Ok(quiet) if !level.contains("c2pa") => filter.add_directive(quiet),
        _ => filter,
    };
    // A second init (tests calling into the binary's code) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
