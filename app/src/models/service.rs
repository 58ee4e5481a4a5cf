//! The one way the Admin page (and the REST API) changes models: downloads from the catalogue
//! (run in the background, with progress and cancel), the default model, removal.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::db::Db;
use engine::catalogue::Catalogue;
use engine::Engine;

use super::download::{self, Mirror, Progress, PullError, PullOptions};
use super::{
    CatalogueModel, DownloadState, DownloadStatus, InstalledModel, ModelsReport, VariantInfo,
};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error("'{0}' is being downloaded already")]
    AlreadyDownloading(String),
    #[error("'{model}' has {jobs} job(s) waiting or running; remove it when they have finished")]
    InUse { model: String, jobs: i64 },
    #[error("no download of '{0}' is running")]
    NoDownload(String),
    #[error("the job database could not be read: {0}")]
    Database(#[from] sqlx::Error),
}

impl ModelError {
    /// The person's mistake (said to them), not a server fault (logged).
    pub fn is_user_error(&self) -> bool {
        match self {
            ModelError::Engine(e) => {
                e.is_bad_input() || !matches!(e, engine::EngineError::Io { .. })
            }
            ModelError::Pull(PullError::Io { .. }) | ModelError::Database(_) => false,
            _ => true,
        }
    }
}

struct Download {
    progress: Progress,
    state: DownloadState,
    cancel: Arc<AtomicBool>,
}

#[derive(Clone)]
pub struct ModelService {
    engine: Arc<Engine>,
    db: Db,
    /// Where the page's downloads come from instead of the publishers (sites without internet).
    mirror: Option<String>,
    downloads: Arc<Mutex<HashMap<String, Download>>>,
}

impl ModelService {
    pub fn new(engine: Arc<Engine>, db: Db, mirror: Option<String>) -> Self {
        ModelService {
            engine,
            db,
            mirror,
            downloads: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn catalogue(&self) -> Result<Catalogue, engine::EngineError> {
        let registry = self.engine.registry();
        let (shipped, local) = Catalogue::paths(registry.builtin_dir(), registry.imported_dir());
        Catalogue::load(&shipped, &local)
    }

    /// The installed models, the default marked (the API's list; no catalogue is read).
    pub fn installed(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let registry = self.engine.registry();
        let default = registry.default_name();
        Ok(registry
            .list()?
            .into_iter()
            .map(|m| InstalledModel {
                label: m.label().to_string(),
                is_default: m.manifest.name == default,
                family: m.manifest.family.label().to_string(),
                default_input_size: m.manifest.default_input_size,
                sha256: m.manifest.sha256,
                builtin: m.builtin,
                licence: m.manifest.licence,
                source: m.manifest.source,
                variant: m.manifest.variant_of.map(|v| VariantInfo {
                    parent: v.parent,
                    parent_sha256: v.parent_sha256,
                    method: v.method,
                    calibration: v.calibration,
                }),
                name: m.manifest.name,
            })
            .collect())
    }

    /// Everything the Admin page shows about models.
    pub fn report(&self) -> Result<ModelsReport, ModelError> {
        let registry = self.engine.registry();
        let installed = self.installed()?;
        let (catalogue, catalogue_error) = match self.catalogue() {
            Ok(catalogue) => (catalogue, None),
            Err(e) => (Catalogue::default(), Some(e.to_string())),
        };
        let catalogue = catalogue
            .entries()
            .iter()
            .map(|e| CatalogueModel {
                installed: installed.iter().any(|m| m.name == e.name),
                name: e.name.clone(),
                label: e.display_name.clone(),
                family: e.family.label().to_string(),
                size: e.size,
                sha256: e.sha256.clone(),
                checksum_source: e.checksum_source.clone(),
                licence: e.licence.clone(),
                source: e.source.clone(),
                input_sizes: match e.shape {
                    engine::catalogue::Shape::Fixed => format!("{} only", e.input_size.best),
                    engine::catalogue::Shape::Dynamic => format!(
                        "{} (from {} to {})",
                        e.input_size.best, e.input_size.min, e.input_size.max
                    ),
                },
                precision: e.precision.clone(),
                note: e.note.clone(),
            })
            .collect();
        let downloads = self
            .downloads
            .lock()
            .map(|d| {
                let mut rows: Vec<DownloadStatus> = d
                    .iter()
                    .map(|(name, d)| DownloadStatus {
                        name: name.clone(),
                        done: d.progress.done,
                        total: d.progress.total,
                        state: d.state.clone(),
                    })
                    .collect();
                rows.sort_by(|a, b| a.name.cmp(&b.name));
                rows
            })
            .unwrap_or_default();
        Ok(ModelsReport {
            installed,
            catalogue,
            downloads,
            default_fixed: registry.default_is_configured(),
            mirror: self.mirror.clone(),
            catalogue_error,
        })
    }

    /// Starts downloading a catalogue model in the background; progress shows in [`report`].
    pub fn start_download(&self, name: &str, sha256: Option<String>) -> Result<(), ModelError> {
        let catalogue = self.catalogue()?;
        let entry = catalogue
            .get(name)
            .cloned()
            .ok_or_else(|| PullError::UnknownEntry(name.to_string()))?;
        if self.engine.registry().get(name).is_ok() {
            return Err(PullError::AlreadyInstalled(name.to_string()).into());
        }
        // Refuse at once what the download would refuse first, so the page says it next to
        // the button instead of in a failed row.
        download::expected_sha256(&entry, sha256.as_deref())?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut downloads = self
                .downloads
                .lock()
                .map_err(|_| ModelError::AlreadyDownloading(name.to_string()))?;
            if downloads
                .get(name)
                .is_some_and(|d| d.state == DownloadState::Running)
            {
                return Err(ModelError::AlreadyDownloading(name.to_string()));
            }
            downloads.insert(
                name.to_string(),
                Download {
                    progress: Progress {
                        done: 0,
                        total: entry.size,
                    },
                    state: DownloadState::Running,
                    cancel: cancel.clone(),
                },
            );
        }
        let service = self.clone();
        let options = PullOptions {
            mirror: self.mirror.as_deref().map(Mirror::parse),
            sha256,
        };
        tokio::spawn(async move {
            let name = entry.name.clone();
            let report = |progress: Progress| service.update(&name, |d| d.progress = progress);
            let outcome = download::pull(
                service.engine.registry(),
                service.engine.runtime(),
                &entry,
                &options,
                &report,
                &cancel,
            )
            .await;
            let state = match outcome {
                Ok(_) => {
                    tracing::info!(model = %name, "model downloaded and registered");
                    DownloadState::Installed
                }
                Err(PullError::Cancelled) => DownloadState::Cancelled,
                Err(e) => {
                    tracing::warn!(model = %name, error = %e, "model download failed");
                    DownloadState::Failed(e.to_string())
                }
            };
            service.update(&name, |d| d.state = state);
        });
        Ok(())
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Download)) {
        if let Ok(mut downloads) = self.downloads.lock() {
            if let Some(download) = downloads.get_mut(name) {
                change(download);
            }
        }
    }

    pub fn cancel_download(&self, name: &str) -> Result<(), ModelError> {
        let downloads = self
            .downloads
            .lock()
            .map_err(|_| ModelError::NoDownload(name.to_string()))?;
        match downloads.get(name) {
            Some(d) if d.state == DownloadState::Running => {
                d.cancel.store(true, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(ModelError::NoDownload(name.to_string())),
        }
    }

    pub fn set_default(&self, name: &str) -> Result<(), ModelError> {
        Ok(self.engine.registry().set_default(name)?)
    }

    /// Removes an installed model that no job is waiting for.
    pub async fn remove(&self, name: &str) -> Result<(), ModelError> {
        let jobs = crate::jobs::read::pending_for_model(&self.db, name).await?;
        if jobs > 0 {
            return Err(ModelError::InUse {
                model: name.to_string(),
                jobs,
            });
        }
        self.engine.registry().remove(name)?;
        self.engine.unload(name);
        if let Ok(mut downloads) = self.downloads.lock() {
            downloads.remove(name);
        }
        Ok(())
    }
}
