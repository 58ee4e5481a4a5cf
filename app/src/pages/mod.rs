//! One module per page, each with the server functions it calls.

mod account;
mod admin;
mod batches;
mod detail;
mod gallery;
mod history;
mod home;
mod job_actions;
mod login;
mod not_found;
mod upload;
mod users;

pub use account::AccountPage;
pub use admin::{
    cancel_model_download, download_model, engine_status, models_report, remove_model,
    set_default_model, AdminPage, CancelModelDownload, DownloadModel, EngineReport, EngineStatus,
    ModelsReportFn, RemoveModel, SetDefaultModel, WorkersReport, WorkersReportFn,
};
pub use batches::{list_batches, BatchesPage, ListBatches};
pub use detail::{
    apply_correction, choose_version, job_detail, photo_versions, review_photo, ApplyCorrection,
    ChooseVersion, JobDetail, JobDetailPage, PhotoPage, PhotoVersions, ResultDetail, ReviewPhoto,
};
pub use gallery::{list_results, GalleryFilter, GalleryPage, ListResults};
pub use history::{list_jobs, HistoryPage, JobRow, ListJobs};
pub use home::{
    active_model, system_status, ActiveModel, HomePage, ModelSummary, StatusReport, SystemStatus,
};
pub use job_actions::{
    cancel_job, delete_job, installed_models, rerun_job, retry_job, CancelJob, DeleteJob,
    InstalledModels, ModelChoice, ModelOptions, RerunJob, RetryJob,
};
pub use login::{
    current_user, local_path, login, logout, CurrentUser, Login, LoginPage, Logout, SignOutButton,
    SESSION_EPOCH, SESSION_USER,
};
pub use not_found::NotFound;
pub use upload::{
    batch_contents, colorize_skipped, intake_rules, list_presets, start_batch, BatchContents,
    BatchOnPage, ChosenFile, IntakeRules, ListPresets, PresetInfo, UploadPage, UploadRules,
};
