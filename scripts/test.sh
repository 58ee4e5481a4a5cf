#!/usr/bin/env bash
# Sets up, builds (debug, plus the release browser bundle) and runs every test: unit, integration
# and browser tests.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/setup.sh --for-tests
bash scripts/build.sh debug site
# The page-weight test measures what people get: the release bundle (wasm-opt, precompressed).
bash scripts/build.sh release site

say "Formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings

# `cargo test` also builds target/debug/tinct (with the same features), which the browser tests run.
say "Unit and integration tests"
cargo test --workspace --exclude frontend --no-run
# A test that hangs fails the run in bounded time instead of holding CI to its limit.
timeout --kill-after=30s 20m cargo test --workspace --exclude frontend

# Every test of the application (jobs, API, ComfyUI, pages, accounts, library, review, leases)
# again, each on a throw-away PostgreSQL cluster and Garage node. The same package selection as
# above, so nothing is built again.
say "The application's tests again, on PostgreSQL and an S3-compatible store (Garage)"
TINCT_TEST_DATABASE=postgres TINCT_TEST_STORAGE=garage timeout --kill-after=30s 15m \
  cargo test --workspace --exclude frontend --test jobs --test http --test comfy --test comfy_clients \
  --test review --test leases --test auth --test front_door --test library --test models --test submit

say "Browser tests"
export TINCT_BIN="$CARGO_TARGET_DIR/debug/tinct"
export TINCT_SITE_ROOT="$CARGO_TARGET_DIR/site-debug"
export TINCT_RELEASE_SITE_ROOT="$CARGO_TARGET_DIR/site-release"
node --test --test-concurrency=1 --test-timeout=600000 end2end/tests/
