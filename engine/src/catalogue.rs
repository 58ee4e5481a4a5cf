//! The model catalogue: models Tinct knows how to fetch, with where they are published, their
//! size and checksum, licence and input sizes. `models/catalogue.toml` ships with Tinct; an
//! administrator may add entries (or replace one of the same name) in
//! `DATA_DIR/models/catalogue.toml`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::family::Family;
use crate::registry::{validate_name, InputSizes};

pub const FILE_NAME: &str = "catalogue.toml";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogueEntry {
    pub name: String,
    pub display_name: String,
    pub family: Family,
    /// Where the file is published, tried in order. A download that redirects (Hugging Face's
    /// `resolve/main/…` answers 302 to a CDN) is followed.
    pub urls: Vec<String>,
    /// Size in bytes, when the publisher states it.
    #[serde(default)]
    pub size: Option<u64>,
    /// SHA-256 of the file, when it can be confirmed; without it, the administrator must give one.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Where the checksum (or the lack of one) comes from.
    pub checksum_source: String,
    pub licence: String,
    /// Who published the weights and the export.
    pub source: String,
    pub input_size: InputSizes,
    /// Whether the graph accepts any input size (`dynamic`) or only `input_size.best` (`fixed`).
    #[serde(default)]
    pub shape: Shape,
    /// float32, float16 or int8.
    pub precision: String,
    pub note: String,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    #[default]
    Dynamic,
    Fixed,
}

impl CatalogueEntry {
    /// The file name a mirror serves this entry under: the last path segment of its first URL.
    pub fn file_name(&self) -> String {
        self.urls
            .first()
            .and_then(|url| url.split(['?', '#']).next())
            .and_then(|url| url.rsplit('/').next())
            .filter(|name| !name.is_empty())
            .map_or_else(|| format!("{}.onnx", self.name), str::to_string)
    }

    fn check(&self, origin: &Path) -> std::result::Result<(), String> {
        validate_name(&self.name).map_err(|e| e.to_string())?;
        if self.urls.is_empty() {
            return Err(format!("'{}' lists no URL", self.name));
        }
        if let Some(url) = self
            .urls
            .iter()
            .find(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(format!("'{}': '{url}' is not an http(s) URL", self.name));
        }
        if let Some(sha) = &self.sha256 {
            if !is_sha256(sha) {
                return Err(format!(
                    "'{}': sha256 must be 64 hexadecimal digits",
                    self.name
                ));
            }
        }
        let InputSizes { best, min, max } = self.input_size;
        if !(min <= best && best <= max) || [best, min, max].iter().any(|s| s % 32 != 0) {
            return Err(format!(
                "'{}': input sizes must be multiples of 32 with min ≤ best ≤ max (in {})",
                self.name,
                origin.display()
            ));
        }
        Ok(())
    }
}

pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(default, rename = "model")]
    models: Vec<CatalogueEntry>,
}

/// The shipped catalogue plus the administrator's additions.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// Reads `shipped` and then `local` (either may be missing); an entry in `local` replaces a
    /// shipped one of the same name. A file that does not parse is an error naming the file and
    /// the line, since a silently ignored entry would be a surprise.
    pub fn load(shipped: &Path, local: &Path) -> Result<Self> {
        let mut entries = read(shipped)?;
        for entry in read(local)? {
            entries.retain(|e| e.name != entry.name);
            entries.push(entry);
        }
        Ok(Catalogue { entries })
    }

    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&CatalogueEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The paths the catalogue is read from, for messages.
    pub fn paths(shipped_dir: &Path, data_models_dir: &Path) -> (PathBuf, PathBuf) {
        (shipped_dir.join(FILE_NAME), data_models_dir.join(FILE_NAME))
    }
}

fn read(path: &Path) -> Result<Vec<CatalogueEntry>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(EngineError::io(
                format!("cannot read {}", path.display()),
                e,
            ))
        }
    };
    let invalid = |reason: String| EngineError::InvalidCatalogue {
        path: path.to_path_buf(),
        reason,
    };
    let file: CatalogueFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    for entry in &file.models {
        entry.check(path).map_err(invalid)?;
    }
    Ok(file.models)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"
[[model]]
name = "ddcolor-tiny"
display_name = "DDColor tiny"
family = "ddcolor"
urls = ["https://example.org/resolve/main/ddcolor_tiny.onnx?download=1"]
size = 10
sha256 = "e983347272b8e218edc974a0af2bd66f53b73212abb800e103c64806e4c14a14"
checksum_source = "the publisher's model card"
licence = "Apache-2.0"
source = "example"
input_size = { best = 512, min = 512, max = 512 }
shape = "fixed"
precision = "int8"
note = "a note"
"#;

    #[test]
    fn a_local_entry_replaces_a_shipped_one_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = dir.path().join("shipped.toml");
        let local = dir.path().join("local.toml");
        fs::write(&shipped, ENTRY).unwrap();
        fs::write(&local, ENTRY.replace("DDColor tiny", "Mirrored tiny")).unwrap();
        let catalogue = Catalogue::load(&shipped, &local).unwrap();
        assert_eq!(catalogue.entries().len(), 1);
        let entry = catalogue.get("ddcolor-tiny").unwrap();
        assert_eq!(entry.display_name, "Mirrored tiny");
        assert_eq!(entry.file_name(), "ddcolor_tiny.onnx");
        assert_eq!(entry.shape, Shape::Fixed);

        fs::write(&local, ENTRY.replace("e98334", "zz8334")).unwrap();
        let error = Catalogue::load(&shipped, &local).unwrap_err().to_string();
        assert!(
            error.contains("local.toml") && error.contains("sha256"),
            "{error}"
        );
        fs::write(&local, ENTRY.replace("https://", "file://")).unwrap();
        let error = Catalogue::load(&shipped, &local).unwrap_err().to_string();
        assert!(error.contains("not an http(s) URL"), "{error}");
        fs::write(&local, "[[model]]\nname = 3\n").unwrap();
        let error = Catalogue::load(&shipped, &local).unwrap_err().to_string();
        assert!(error.contains("local.toml"), "{error}");
    }
}
