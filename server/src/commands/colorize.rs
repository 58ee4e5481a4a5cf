//! `tinct colorize`: a batch of files or folders, a progress bar, a summary. A bad file is
//! reported and skipped; it never stops the batch.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use crate::jobs::provenance::{label_result, ResultSource};
use engine::content_credentials::ContentCredentials;
use engine::correct::Correction;
use engine::encode::OutputFormat;
use engine::provenance::CorrectionRecord;
use engine::{ColorizeRequest, Engine, InputSize};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::config::{ColorizeArgs, Common, Format};
use crate::error::CommandError;

/// Files larger than this are refused before they are read.
const MAX_FILE_BYTES: u64 = 2 << 30;

pub(super) struct Task {
    pub input: PathBuf,
    pub output: PathBuf,
}

pub fn run(common: &Common, args: &ColorizeArgs) -> Result<ExitCode, CommandError> {
    if let Some(size) = args.size {
        InputSize::new(size)?;
    }
    let engine = super::engine(common)?;
    let request = request_for(common, args, &engine)?;
    // Load the model before the progress bar starts, so a broken model fails at once.
    let model = engine.model(request.model.as_deref())?;
    let size = model.input_size(request.size)?;
    let credentials = common.content_credentials()?;

    let (files, mut failures) = collect_inputs(&args.inputs);
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CommandError::io(format!("cannot create {}", args.out.display()), e))?;
    let tasks = plan_outputs(files, &args.out, request.format);

    let progress = ProgressBar::new(tasks.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta} left) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let queue = Mutex::new(tasks.iter());
    let failed = Mutex::new(Vec::new());
    // Several images in flight let decoding and post-processing overlap with inference.
    let parallel = common.max_batch.clamp(1, 4).min(tasks.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(task) = next else { break };
                progress.set_message(display_name(&task.input));
                let preset = args.preset.as_deref();
                if let Err(reason) =
                    colorize_one(&engine, &request, preset, credentials.as_deref(), task)
                {
                    progress.suspend(|| eprintln!("failed: {}: {reason}", task.input.display()));
                    if let Ok(mut failed) = failed.lock() {
                        failed.push((task.input.clone(), reason));
                    }
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();

    let failed_tasks = failed.into_inner().unwrap_or_default();
    let done = tasks.len() - failed_tasks.len();
    let total = tasks.len() + failures.len();
    failures.extend(failed_tasks);
    println!(
        "Colorized {done} of {total} image(s) into {} with {} at input size {size}.",
        args.out.display(),
        model.model.label(),
    );
    println!("Results are AI-assisted colorizations; the originals were not modified.");
    if let Some(credentials) = &credentials {
        println!(
            "Their Content Credentials are signed by {}.",
            credentials.identity()
        );
    }
    if let Some(notice) = &model.model.manifest.notice {
        println!("Note: {notice}");
    }
    Ok(super::report_failures(&failures))
}

fn request_for(
    common: &Common,
    args: &ColorizeArgs,
    engine: &Engine,
) -> Result<ColorizeRequest, CommandError> {
    let format = match args.format {
        Format::Png => OutputFormat::Png,
        Format::Jpeg => OutputFormat::Jpeg {
            quality: args.quality,
        },
        Format::Tiff => OutputFormat::Tiff,
    };
    let (preset_model, preset_size) = match &args.preset {
        Some(name) => {
            let presets = engine::presets::Presets::load(&common.workflows_dir)?;
            let preset = presets.find(name)?;
            (
                Some(engine.registry().resolve_checkpoint(&preset.checkpoint)),
                Some(preset.input_size),
            )
        }
        None => (None, None),
    };
    let correction = match &args.hints {
        Some(path) => Some(read_correction(path)?),
        None => None,
    };
    Ok(ColorizeRequest {
        model: args.model.clone().or(preset_model),
        size: args.size.or(preset_size),
        format,
        label: args.label.as_deref().and_then(engine::label::Label::parse),
        correction,
        colours: None,
    })
}

/// A correction file: `{"strength": 0.8, "hints": [{"x": 0.4, "y": 0.6, "srgb": "#8b2a1e"}]}`
/// (or just the list of hints), checked before any image is read.
fn read_correction(path: &Path) -> Result<Correction, CommandError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CommandError::io(format!("cannot read {}", path.display()), e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CommandError::Invalid(format!("{} is not JSON: {e}", path.display())))?;
    let value = match value {
        hints @ serde_json::Value::Array(_) => serde_json::json!({ "hints": hints }),
        other => other,
    };
    let correction: Correction = serde_json::from_value(value).map_err(|e| {
        CommandError::Invalid(format!(
            "{} is not a correction (strength, hints: [{{x, y, radius, lab or srgb}}]): {e}",
            path.display()
        ))
    })?;
    correction
        .validate()
        .map_err(|e| CommandError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(correction)
}

/// Who made a correction on the command line: the login name, as far as it is known.
fn corrected_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|name| format!("{name} (tinct colorize --hints)"))
        .unwrap_or_else(|_| "a person (tinct colorize --hints)".into())
}

fn colorize_one(
    engine: &Engine,
    request: &ColorizeRequest,
    preset: Option<&str>,
    credentials: Option<&ContentCredentials>,
    task: &Task,
) -> Result<(), String> {
    let length = std::fs::metadata(&task.input)
        .map_err(|e| e.to_string())?
        .len();
    if length > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {} MiB, more than the 2048 MiB limit",
            length >> 20
        ));
    }
    let original = std::fs::read(&task.input).map_err(|e| format!("cannot read it: {e}"))?;
    let mut result = engine
        .colorize(&original, request)
        .map_err(|e| e.to_string())?;
    let correction = request.correction.as_ref().map(|c| CorrectionRecord {
        summary: c.describe(),
        json: serde_json::to_string(c).unwrap_or_default(),
        corrected_by: corrected_by(),
        corrects: "the model's colours of this run".into(),
    });
    let source = ResultSource {
        original: &original,
        original_sha256: hex::encode(Sha256::digest(&original)),
        original_name: display_name(&task.input),
        preset: preset.unwrap_or("custom").to_string(),
        correction,
        earlier: None,
    };
    label_result(&mut result, source, credentials).map_err(|e| e.to_string())?;
    // Write beside the target and rename, so an interrupted run never leaves half a file.
    let partial = task.output.with_extension("partial");
    std::fs::write(&partial, &result.bytes).map_err(|e| format!("cannot write the result: {e}"))?;
    std::fs::rename(&partial, &task.output).map_err(|e| format!("cannot write the result: {e}"))?;
    Ok(())
}

/// Files named directly, plus every file inside the folders (recursively, hidden ones skipped).
pub(super) fn collect_inputs(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let mut pending: Vec<PathBuf> = inputs.to_vec();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            match std::fs::read_dir(&path) {
                Ok(entries) => {
                    let mut children: Vec<PathBuf> = entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| !display_name(p).starts_with('.'))
                        .collect();
                    children.sort();
                    children.reverse();
                    pending.extend(children);
                }
                Err(e) => failures.push((path, format!("cannot read the folder: {e}"))),
            }
        } else if path.is_file() {
            files.push(path);
        } else {
            failures.push((path, "no such file or folder".into()));
        }
    }
    (files, failures)
}

/// `NAME_colorized.png` for each input, made unique within the batch and never an input's path.
pub(super) fn plan_outputs(files: Vec<PathBuf>, out: &Path, format: OutputFormat) -> Vec<Task> {
    let inputs: HashSet<PathBuf> = files.iter().filter_map(|f| f.canonicalize().ok()).collect();
    let mut taken = HashSet::new();
    files
        .into_iter()
        .map(|input| {
            let stem = input
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "image".into());
            let mut n = 1;
            let output = loop {
                let suffix = if n == 1 {
                    String::new()
                } else {
                    format!("-{n}")
                };
                let candidate =
                    out.join(format!("{stem}_colorized{suffix}.{}", format.extension()));
                let clashes_input = candidate.canonicalize().is_ok_and(|c| inputs.contains(&c));
                if !clashes_input && taken.insert(candidate.clone()) {
                    break candidate;
                }
                n += 1;
            };
            Task { input, output }
        })
        .collect()
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}
