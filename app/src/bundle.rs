//! The names of the browser bundle's files under `/pkg`. `scripts/build.sh` names them after
//! their content (`tinct.<16 hex>.wasm`) and lists the hashes in `SITE_ROOT/hash.txt`, the
//! file Leptos's hydration script reads too; without that file (a bundle built by hand) the
//! names are the plain `tinct.js`, `tinct_bg.wasm` and `tinct.css`.

use std::path::{Path, PathBuf};

use leptos::config::LeptosOptions;

/// The list of hashes, next to `pkg/` in the site root.
pub const HASH_FILE: &str = "hash.txt";

/// Where the build wrote the hashes of the bundle in `site_root`.
pub fn hash_file(site_root: &Path) -> PathBuf {
    site_root.join(HASH_FILE)
}

/// The address of the stylesheet: `/pkg/tinct.<hash>.css` when the build hashed it.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    let name = &options.output_name;
    let hash = options
        .hash_files
        .then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok())
        .flatten()
        .and_then(|hashes| {
            hashes.lines().find_map(|line| {
                let (file, hash) = line.split_once(':')?;
                (file.trim() == "css").then(|| hash.trim().to_string())
            })
        });
    match hash {
        Some(hash) => format!("/{}/{name}.{hash}.css", options.site_pkg_dir),
        None => format!("/{}/{name}.css", options.site_pkg_dir),
    }
}

/// Whether a file name under `/pkg` carries its content's hash (`tinct.0123456789abcdef.wasm`,
/// and its `.br` and `.gz` copies), so that a browser may keep it for good.
pub fn is_hashed_name(name: &str) -> bool {
    name.split('.')
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_apart_and_the_stylesheet_follows_the_hash_file() {
        assert!(is_hashed_name("tinct.0123456789abcdef.wasm"));
        assert!(is_hashed_name("tinct.0123456789abcdef.js.br"));
        assert!(!is_hashed_name("tinct.js"));
        assert!(!is_hashed_name("favicon.svg"));
        assert!(!is_hashed_name("tinct.0123456789abcdeg.css"));

        let dir = tempfile::tempdir().unwrap();
        let file = hash_file(dir.path());
        let options = |hashed: bool| {
            LeptosOptions::builder()
                .output_name("tinct")
                .site_pkg_dir("pkg")
                .hash_files(hashed)
                .hash_file(std::sync::Arc::from(file.to_string_lossy().as_ref()))
                .build()
        };
        assert_eq!(stylesheet_href(&options(false)), "/pkg/tinct.css");
        std::fs::write(&file, "js: 1111111111111111\ncss: 0123456789abcdef\n").unwrap();
        assert_eq!(
            stylesheet_href(&options(true)),
            "/pkg/tinct.0123456789abcdef.css"
        );
    }
}
