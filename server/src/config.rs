//! Command line and environment: every setting has a flag, an environment variable and a default
//! that works from a checkout.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::content_credentials::{ContentCredentials, CredentialsError};
use engine::runtime::Device;

#[derive(Debug, Parser)]
#[command(
    name = "tinct",
    version,
    about = "Tinct gives colour back to black-and-white archive photographs.",
    long_about = "Tinct gives colour back to black-and-white archive photographs.\n\n\
        `tinct serve` runs the web application; `tinct colorize` works on files from the command line; \
        `tinct models` lists and imports colorization models. Every option can also be set with the \
        environment variable shown next to it."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web application.
    Serve(ServeArgs),
    /// Colorize image files or folders and write the results to a folder.
    Colorize(ColorizeArgs),
    /// List or import colorization models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Manage the people who may sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Create API tokens for scripts and back-end systems.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Send a folder of images to a Tinct server and download the results as they finish.
    /// Run it again to resume: finished files are skipped, uploaded ones are not sent again.
    Submit(SubmitArgs),
    /// Move an installation to other engines (SQLite to PostgreSQL, a local folder to an S3
    /// store, or back), checking every table's rows and every object's SHA-256.
    Migrate(MigrateArgs),
    /// Colorize jobs without a web server, on any machine that reaches the (PostgreSQL) database
    /// and the object store; `tinct serve --no-workers` then runs only the web side.
    Worker(WorkerArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database to copy from: sqlite://DATA_DIR/tinct.db or postgres://…
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// The database to copy into, new and empty (it is migrated first): postgres://… or sqlite://…
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// The object store to copy from: file:///absolute/path (e.g. DATA_DIR/objects) or s3://bucket/prefix.
    #[arg(long, requires = "storage_to")]
    pub storage_from: Option<String>,
    /// The object store to copy into.
    #[arg(long, requires = "storage_from")]
    pub storage_to: Option<String>,
    /// The S3 store's address (for an s3:// end).
    #[arg(long, env = "TINCT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The S3 region (for an s3:// end).
    #[arg(long, env = "TINCT_S3_REGION")]
    pub s3_region: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The database shared with the web front ends: postgres://…
    #[arg(long, env = "TINCT_DATABASE_URL")]
    pub database_url: String,
    /// Jobs colorized at the same time (each uses the inference pool).
    #[arg(long, env = "TINCT_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,
    /// Memory for colorizing, in MiB (see `tinct serve --help`).
    #[arg(long, env = "TINCT_JOB_MEMORY_MB", default_value_t = 4096)]
    pub job_memory_mb: u64,
    /// Seconds a running job stays with this worker if it stops renewing its claim.
    #[arg(long, env = "TINCT_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub lease_seconds: u32,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Image files or folders (folders are searched recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The Tinct server.
    #[arg(long, env = "TINCT_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// An API token with the submit and read scopes.
    #[arg(long, env = "TINCT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Folder for the results (created if missing); it also keeps the resume state.
    #[arg(long, short)]
    pub out: PathBuf,
    /// A preset of the server, e.g. portrait or building.
    #[arg(long)]
    pub preset: Option<String>,
    /// Model input size S (a multiple of 32); overrides the preset's.
    #[arg(long)]
    pub size: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value = "png")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input (a prompt on a terminal), or
    /// generated and printed with --generate-password.
    Add(UserAddArgs),
    /// List the users.
    List(DatabaseArgs),
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL; default: sqlite://DATA_DIR/tinct.db.
    #[arg(long, env = "TINCT_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// The name they sign in with.
    pub name: String,
    /// admin, staff or viewer.
    #[arg(long, default_value = "staff")]
    pub role: String,
    /// Generate a password and print it, instead of reading one.
    #[arg(long)]
    pub generate_password: bool,
    /// Do nothing (successfully) when any user exists already: for first-start scripts.
    #[arg(long)]
    pub if_no_users: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user and print it (it is shown only this once).
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Whose token it is.
    #[arg(long)]
    pub user: String,
    /// What it is for, e.g. "nightly batch".
    #[arg(long)]
    pub name: String,
    /// Comma-separated: submit, read, admin.
    #[arg(long, default_value = "submit,read")]
    pub scopes: String,
    /// Days until it expires; default: never.
    #[arg(long)]
    pub days: Option<u32>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Settings shared by every command.
#[derive(Debug, Args)]
pub struct Common {
    /// Where Tinct keeps its database, images and imported models.
    #[arg(long, env = "TINCT_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// The folder of models shipped with Tinct (read-only).
    #[arg(
        long,
        env = "TINCT_MODELS_DIR",
        default_value = "models",
        global = true
    )]
    pub models_dir: PathBuf,
    /// The folder of preset workflows (ComfyUI API format).
    #[arg(
        long,
        env = "TINCT_WORKFLOWS_DIR",
        default_value = "workflows",
        global = true
    )]
    pub workflows_dir: PathBuf,
    /// The model used when a request names none. Without it, the default chosen on the Admin
    /// page is used, else tinct-mini.
    #[arg(long, env = "TINCT_DEFAULT_MODEL", global = true)]
    pub default_model: Option<String>,
    /// The ONNX Runtime library (libonnxruntime.so). Default: ./.local/onnxruntime/libonnxruntime.so.
    #[arg(long, env = "ORT_DYLIB_PATH", global = true)]
    pub ort_library: Option<PathBuf>,
    /// Where inference runs: auto (CUDA if available), cpu, cuda or cuda:N.
    #[arg(long, env = "TINCT_DEVICE", default_value = "auto", global = true)]
    pub device: Device,
    /// CPU threads per inference; 0 shares the cores among the model sessions (--workers).
    #[arg(long, env = "TINCT_THREADS", default_value_t = 0, global = true)]
    pub threads: usize,
    /// Model sessions (parallel inference workers) per loaded model. Each holds its own copy of
    /// the model and its working memory. Measured on 2 cores with Tinct-mini: 2 sessions of one
    /// thread colour 1.17–1.21× as many images per second as 1 of two threads (more memory, and
    /// one image alone waits longer); see docs/benchmarks.md, "CPU settings".
    #[arg(long, env = "TINCT_WORKERS", default_value_t = 1, global = true)]
    pub workers: usize,
    /// Most images of the same input size run together in one batch; a batch holds at most
    /// 4 × 256² input pixels, so inputs of 384 px and more run one at a time (batching them was
    /// slower, docs/benchmarks.md).
    #[arg(long, env = "TINCT_MAX_BATCH", default_value_t = 4, global = true)]
    pub max_batch: usize,
    /// Largest image accepted, in pixels (width × height).
    #[arg(long, env = "TINCT_MAX_PIXELS", default_value_t = engine::decode::DEFAULT_MAX_PIXELS, global = true)]
    pub max_pixels: u64,
    /// Content Credentials (C2PA): the PEM certificate chain results are signed with, signing
    /// certificate first. Without it and --c2pa-key, results are not signed.
    #[arg(long, env = "TINCT_C2PA_CERT", global = true, requires = "c2pa_key")]
    pub c2pa_cert: Option<PathBuf>,
    /// The PEM private key of the signing certificate.
    #[arg(long, env = "TINCT_C2PA_KEY", global = true, requires = "c2pa_cert")]
    pub c2pa_key: Option<PathBuf>,
    /// The signature algorithm, matching the key: es256, es384, es512, ps256, ps384, ps512 or ed25519.
    #[arg(long, env = "TINCT_C2PA_ALG", default_value = "es256", global = true)]
    pub c2pa_alg: String,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive list.
    #[arg(long, env = "TINCT_LOG", default_value = "info", global = true)]
    pub log_level: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "TINCT_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Database URL; default: sqlite://DATA_DIR/tinct.db (created on first start).
    #[arg(long, env = "TINCT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The built site: the hydration bundle and stylesheet live in SITE_ROOT/pkg.
    #[arg(long, env = "TINCT_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Jobs colorized at the same time (each uses the inference pool).
    #[arg(long, env = "TINCT_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,
    /// Run only the web side: jobs are colorized by `tinct worker` processes sharing the
    /// (PostgreSQL) database and the object store.
    #[arg(long, env = "TINCT_NO_WORKERS")]
    pub no_workers: bool,
    /// Seconds a running job stays with a worker that stopped renewing its claim (it died or
    /// lost the database); then another worker takes it. Workers renew three times as often.
    #[arg(long, env = "TINCT_LEASE_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub lease_seconds: u32,
    /// Memory for colorizing, in MiB: jobs whose originals together need more (about 15 MB per
    /// megapixel, plus 150 MB) wait for each other.
    #[arg(long, env = "TINCT_JOB_MEMORY_MB", default_value_t = 4096)]
    pub job_memory_mb: u64,
    /// Most jobs waiting at once; submissions beyond it are told to try later.
    #[arg(long, env = "TINCT_QUEUE_LIMIT", default_value_t = 10_000)]
    pub queue_limit: i64,
    /// Largest uploaded file, in MiB.
    #[arg(long, env = "TINCT_MAX_UPLOAD_MB", default_value_t = 512)]
    pub max_upload_mb: u64,
    /// Most files in one submission.
    #[arg(long, env = "TINCT_MAX_FILES", default_value_t = 1000)]
    pub max_files: usize,
    /// What happens to an upload whose content was already colorized, unless the upload says:
    /// `colorize` it again (the row says how often it was done before) or `skip` it.
    #[arg(long, env = "TINCT_DUPLICATES", value_enum, default_value_t = DuplicatesArg::Colorize)]
    pub duplicates: DuplicatesArg,
    /// Largest whole submission (all its files together), in MiB; a request declaring more is
    /// refused before anything is read.
    #[arg(long, env = "TINCT_MAX_SUBMISSION_MB", default_value_t = 4096)]
    pub max_submission_mb: u64,
    /// Seconds a client may take to send a request's headers (slow clients are cut off).
    #[arg(long, env = "TINCT_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Sign-in attempts allowed per address and per account name in a minute.
    #[arg(long, env = "TINCT_LOGIN_ATTEMPTS", default_value_t = 10)]
    pub login_attempts: u32,
    /// Submissions allowed per person or API token in a minute (each may hold many files).
    #[arg(long, env = "TINCT_SUBMISSIONS_PER_MINUTE", default_value_t = 60)]
    pub submissions_per_minute: u32,
    /// Mark the session cookie Secure: set this when Tinct is served over HTTPS (behind a
    /// TLS-terminating proxy).
    #[arg(long, env = "TINCT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Where the Admin page downloads catalogue models from instead of their publishers: a
    /// folder or an internal HTTP server holding the files under their published names.
    #[arg(long, env = "TINCT_MODELS_MIRROR")]
    pub models_mirror: Option<String>,
    /// Seconds a request may take to be answered (uploads excepted).
    #[arg(long, env = "TINCT_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Where originals, results and previews are kept.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// file:///absolute/path or s3://bucket/prefix (any S3-compatible store; the key comes from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Default: the folder DATA_DIR/objects.
    #[arg(long, env = "TINCT_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The S3 store's address, for stores other than Amazon S3 (http://127.0.0.1:3900 for a
    /// local Garage). Default: AWS_ENDPOINT, else Amazon S3.
    #[arg(long, env = "TINCT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The S3 region. Default: AWS_REGION, else us-east-1.
    #[arg(long, env = "TINCT_S3_REGION")]
    pub s3_region: Option<String>,
}

impl StorageArgs {
    pub fn location(
        &self,
        data_dir: &std::path::Path,
    ) -> Result<app::storage::StorageLocation, app::storage::StorageError> {
        use app::storage::StorageLocation;
        let Some(url) = &self.storage_url else {
            return Ok(StorageLocation::Local(data_dir.join("objects")));
        };
        let mut location = StorageLocation::from_url(url)?;
        if let StorageLocation::S3(settings) = &mut location {
            settings.endpoint = self.s3_endpoint.clone();
            settings.region = self.s3_region.clone();
        }
        Ok(location)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    /// 16 bits per channel, deflate-compressed.
    Tiff,
}

#[derive(Debug, Args)]
pub struct ColorizeArgs {
    /// Image files or folders (folders are searched recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder for the results (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// A preset from the workflows folder, e.g. portrait or building.
    #[arg(long)]
    pub preset: Option<String>,
    /// Model input size S (a multiple of 32); overrides the preset's.
    #[arg(long)]
    pub size: Option<u32>,
    /// A registered model (see `tinct models list`); default: the preset's, else the default model.
    #[arg(long)]
    pub model: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "png")]
    pub format: Format,
    /// JPEG quality (1–100).
    #[arg(long, default_value_t = 92, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Draw a visible label on each result: en ("AI-assisted colorization") or zh ("AI辅助修复").
    #[arg(long, value_parser = ["en", "zh"])]
    pub label: Option<String>,
    /// Correct the colours with a JSON file: {"strength": 0.8, "hints": [{"x": 0.4, "y": 0.6,
    /// "radius": 0.01, "srgb": "#8b2a1e"}]}; x, y and radius are fractions of the image (the
    /// same for every input); a hint's colour is "srgb" or "lab": [a, b].
    #[arg(long, value_name = "FILE")]
    pub hints: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Show every registered model and which one is the default.
    List,
    /// Check an ONNX colorization model (DDColor, DeOldify or Zhang et al.) and register it.
    Import(ImportArgs),
    /// Show the models Tinct can download (models/catalogue.toml and DATA_DIR/models/catalogue.toml).
    Catalogue,
    /// Download a catalogue model, verify its size and SHA-256, and register it.
    Pull(PullArgs),
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The catalogue name (see `tinct models catalogue`).
    pub name: String,
    /// Fetch from this folder or internal HTTP server instead of the publisher: it holds the
    /// file under its published name (or NAME.onnx).
    #[arg(long, env = "TINCT_MODELS_MIRROR")]
    pub mirror: Option<String>,
    /// The SHA-256 you trust, for an entry whose publisher gives none (must match the
    /// catalogue's when it has one).
    #[arg(long)]
    pub sha256: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The .onnx file.
    pub file: PathBuf,
    /// The name to register it under (letters, digits, - and _), e.g. ddcolor_paper_tiny.
    #[arg(long)]
    pub name: String,
    /// Its default input size S (a multiple of 32); default: the graph's fixed size, else 512.
    #[arg(long)]
    pub input_size: Option<u32>,
    /// A readable name shown in the interface.
    #[arg(long)]
    pub display_name: Option<String>,
    /// The licence of the weights.
    #[arg(long)]
    pub licence: Option<String>,
    /// Where the weights came from.
    #[arg(long)]
    pub source: Option<String>,
    /// ddcolor, deoldify or zhang; default: found from the graph's inputs and outputs.
    #[arg(long)]
    pub family: Option<engine::family::Family>,
    /// Register the file as a variant (an int8 or float16 copy made by tools/quantize) of this
    /// registered model: it keeps the parent's family, input sizes, licence and training data.
    #[arg(long, requires_all = ["method", "calibration"])]
    pub variant_of: Option<String>,
    /// How the variant was made (tools/quantize prints it).
    #[arg(long, requires = "variant_of")]
    pub method: Option<String>,
    /// The photos its int8 ranges were calibrated on ("none" for float16).
    #[arg(long, requires = "variant_of")]
    pub calibration: Option<String>,
}

impl Common {
    pub fn runtime_options(&self) -> engine::runtime::RuntimeOptions {
        engine::runtime::RuntimeOptions {
            library: self.ort_library.clone(),
            device: self.device,
            // 0: the cores shared out among the sessions, so that `--workers 2` on two cores
            // runs two one-thread inferences instead of two that fight over both cores.
            intra_threads: match self.threads {
                0 => std::thread::available_parallelism()
                    .map_or(1, |cores| cores.get() / self.workers.max(1))
                    .max(1),
                n => n,
            },
        }
    }

    pub fn engine_settings(&self) -> engine::EngineSettings {
        engine::EngineSettings {
            workers: self.workers,
            max_batch: self.max_batch,
            max_pixels: self.max_pixels,
        }
    }

    /// The Content Credentials signer, when a certificate and key are configured. A certificate
    /// that cannot sign stops the command here, not at the first result.
    pub fn content_credentials(
        &self,
    ) -> Result<Option<std::sync::Arc<ContentCredentials>>, CredentialsError> {
        match (&self.c2pa_cert, &self.c2pa_key) {
            (Some(cert), Some(key)) => Ok(Some(std::sync::Arc::new(
                ContentCredentials::from_files(cert, key, &self.c2pa_alg)?,
            ))),
            _ => Ok(None),
        }
    }

    pub fn registry(&self) -> engine::registry::Registry {
        engine::registry::Registry::new(
            &self.models_dir,
            self.data_dir.join("models"),
            self.default_model.clone(),
        )
    }
}

/// `--duplicates`: see `app::jobs::batches::Duplicates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DuplicatesArg {
    Colorize,
    Skip,
}

impl From<DuplicatesArg> for app::jobs::batches::Duplicates {
    fn from(arg: DuplicatesArg) -> Self {
        match arg {
            DuplicatesArg::Colorize => app::jobs::batches::Duplicates::Colorize,
            DuplicatesArg::Skip => app::jobs::batches::Duplicates::Skip,
        }
    }
}
