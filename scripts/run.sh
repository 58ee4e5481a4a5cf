#!/usr/bin/env bash
# Sets up, builds (release) and runs Tinct on the embedded default model.
# Open the address it prints. Data goes to ./data unless TINCT_DATA_DIR says otherwise.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/setup.sh
bash scripts/build.sh release
export TINCT_SITE_ROOT="${TINCT_SITE_ROOT:-$CARGO_TARGET_DIR/site-release}"
# On the first start there is nobody to sign in: create an admin with a random password and
# print it once. Later starts leave the accounts alone.
"$CARGO_TARGET_DIR/release/tinct" user add admin --role admin --generate-password --if-no-users
say "Starting Tinct (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/tinct" serve "$@"
