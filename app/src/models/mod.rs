//! Models as the Admin page and the command line manage them: the catalogue of models Tinct
//! can fetch, the installed ones, downloads in flight. The types here are page-neutral (sent as
//! JSON to the browser); `download` and `service` run on the server only.

#[cfg(feature = "ssr")]
pub mod download;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// An installed model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InstalledModel {
    pub name: String,
    pub label: String,
    pub family: String,
    pub default_input_size: u32,
    pub sha256: String,
    pub builtin: bool,
    pub is_default: bool,
    pub licence: String,
    pub source: String,
    /// For a quantized or float16 copy: "int8 variant of tinct-mini" and how it was made.
    pub variant: Option<VariantInfo>,
}

/// What an installed variant was made from, in words for the Admin page and the API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariantInfo {
    pub parent: String,
    pub parent_sha256: String,
    pub method: String,
    pub calibration: String,
}

/// A catalogue entry, with whether it is installed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CatalogueModel {
    pub name: String,
    pub label: String,
    pub family: String,
    pub size: Option<u64>,
    /// `None`: the administrator must give the checksum to download it.
    pub sha256: Option<String>,
    pub checksum_source: String,
    pub licence: String,
    pub source: String,
    pub input_sizes: String,
    pub precision: String,
    pub note: String,
    pub installed: bool,
}

/// A download started from the Admin page: running, or how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DownloadStatus {
    pub name: String,
    pub done: u64,
    pub total: Option<u64>,
    pub state: DownloadState,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum DownloadState {
    Running,
    Installed,
    Failed(String),
    Cancelled,
}

impl DownloadStatus {
    /// Whole percent when the total is known.
    pub fn percent(&self) -> Option<u64> {
        self.total
            .filter(|&t| t > 0)
            .map(|t| (self.done.saturating_mul(100) / t).min(100))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelsReport {
    pub installed: Vec<InstalledModel>,
    pub catalogue: Vec<CatalogueModel>,
    pub downloads: Vec<DownloadStatus>,
    /// The operator's configuration fixes the default model (the page cannot change it).
    pub default_fixed: bool,
    /// Downloads from the page come from this mirror instead of the publishers' URLs.
    pub mirror: Option<String>,
    /// The catalogue could not be read: why, in words.
    pub catalogue_error: Option<String>,
}

/// Bytes in words: "1.2 MB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_progress_read_as_people_say_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(112_723_138), "112.7 MB");
        let status = DownloadStatus {
            name: "m".into(),
            done: 50,
            total: Some(200),
            state: DownloadState::Running,
        };
        assert_eq!(status.percent(), Some(25));
        assert_eq!(
            DownloadStatus {
                total: None,
                ..status
            }
            .percent(),
            None
        );
    }
}
