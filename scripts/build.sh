#!/usr/bin/env bash
# Builds Tinct. Usage: build.sh [debug|release] [site|server|all]
#   site:   the browser bundle (wasm + JS glue + CSS) into $CARGO_TARGET_DIR/site-<profile>/pkg
#   server: the `tinct` binary
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
profile="${1:-debug}"
what="${2:-all}"
site="$CARGO_TARGET_DIR/site-$profile"
if [ "$profile" = release ]; then
  wasm_flags=(--profile wasm-release); wasm_dir=wasm-release; server_flags=(--release)
else
  wasm_flags=(); wasm_dir=debug; server_flags=()
fi

if [ "$what" != server ]; then
  say "Building the browser bundle ($profile)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown "${wasm_flags[@]}"
  mkdir -p "$site/pkg"
  # The bundle of an earlier build (its names carry that build's hashes).
  rm -f "$site/pkg"/tinct.* "$site/pkg"/tinct_bg.* "$site/hash.txt"
  wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name tinct \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
  cp style/tinct.css "$site/pkg/tinct.css"
  cp style/favicon.svg "$site/pkg/favicon.svg"
  if [ "$profile" = release ]; then
    # Smaller wasm (npm binaryen; Debian's older wasm-opt breaks hydration).
    say "Optimizing the browser bundle for size"
    node end2end/node_modules/binaryen/bin/wasm-opt -Oz --enable-bulk-memory \
      --enable-nontrapping-float-to-int -o "$site/pkg/tinct_bg.wasm" "$site/pkg/tinct_bg.wasm"
  fi
  # Names that change with the content (`tinct.<16 hex>.js`), so browsers may keep them for a
  # year; `hash.txt` tells the server (and Leptos's hydration script) the current names.
  hash() { sha256sum "$1" | cut -c1-16; }
  js=$(hash "$site/pkg/tinct.js"); wasm=$(hash "$site/pkg/tinct_bg.wasm"); css=$(hash "$site/pkg/tinct.css")
  mv "$site/pkg/tinct.js" "$site/pkg/tinct.$js.js"
  mv "$site/pkg/tinct_bg.wasm" "$site/pkg/tinct.$wasm.wasm"
  mv "$site/pkg/tinct.css" "$site/pkg/tinct.$css.css"
  printf 'js: %s\nwasm: %s\ncss: %s\n' "$js" "$wasm" "$css" > "$site/hash.txt"
  if [ "$profile" = release ]; then
    # Brotli and gzip copies that the server sends as they are.
    node scripts/precompress.mjs "$site/pkg"
  fi
fi
if [ "$what" != site ]; then
  say "Building the server ($profile)"
  cargo build -p server "${server_flags[@]}"
fi
