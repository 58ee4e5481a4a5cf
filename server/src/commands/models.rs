//! `tinct models list | import | catalogue | pull`.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use app::models::download::{self, Mirror, Progress, PullOptions};
use app::models::human_bytes;
use engine::catalogue::Catalogue;
use engine::registry::{ImportOptions, VariantOf};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Common, ImportArgs, PullArgs};
use crate::error::CommandError;

pub fn list(common: &Common) -> Result<ExitCode, CommandError> {
    let registry = common.registry();
    let models = registry.list()?;
    if models.is_empty() {
        println!("No models are registered. Import one with `tinct models import FILE.onnx --name NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    let default = registry.default_name();
    println!(
        "{:<2} {:<24} {:<34} {:<9} {:>5}  {:<12}  origin",
        "", "name", "label", "family", "size", "sha256"
    );
    for model in &models {
        let m = &model.manifest;
        println!(
            "{:<2} {:<24} {:<34} {:<9} {:>5}  {:<12}  {}",
            if m.name == default { "*" } else { "" },
            m.name,
            model.label(),
            m.family,
            m.default_input_size,
            m.sha256.chars().take(12).collect::<String>(),
            if model.builtin { "shipped" } else { "imported" },
        );
    }
    println!("\n* = the default model ({default}).");
    if registry.get(&default).is_err() {
        println!("Warning: the default model '{default}' is not registered.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(common: &Common, args: &ImportArgs) -> Result<ExitCode, CommandError> {
    let engine = super::engine(common)?;
    let model = engine.registry().import(
        engine.runtime(),
        &args.file,
        &args.name,
        ImportOptions {
            default_input_size: args.input_size,
            display_name: args.display_name.clone(),
            licence: args.licence.clone(),
            source: args.source.clone(),
            family: args.family,
            variant_of: args.variant_of.as_ref().map(|parent| VariantOf {
                parent: parent.clone(),
                method: args.method.clone().unwrap_or_default(),
                calibration: args.calibration.clone().unwrap_or_default(),
            }),
            ..ImportOptions::default()
        },
    )?;
    println!(
        "Imported '{}' ({} model, input size {}, sha256 {}) into {}.",
        model.manifest.name,
        model.manifest.family.label(),
        model.manifest.default_input_size,
        model.manifest.sha256.chars().take(12).collect::<String>(),
        model.path.display()
    );
    if let Some(variant) = &model.manifest.variant_of {
        println!(
            "It is a variant of '{}' (sha256 {}): {}; calibration: {}.",
            variant.parent,
            variant.parent_sha256.chars().take(12).collect::<String>(),
            variant.method,
            variant.calibration
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn load_catalogue(common: &Common) -> Result<Catalogue, CommandError> {
    let registry = common.registry();
    let (shipped, local) = Catalogue::paths(registry.builtin_dir(), registry.imported_dir());
    Ok(Catalogue::load(&shipped, &local)?)
}

pub fn catalogue(common: &Common) -> Result<ExitCode, CommandError> {
    let catalogue = load_catalogue(common)?;
    let registry = common.registry();
    for entry in catalogue.entries() {
        let installed = registry.get(&entry.name).is_ok();
        println!(
            "{}{}  ({}, {}, {})",
            entry.name,
            if installed { "  [installed]" } else { "" },
            entry.display_name,
            entry.family.label(),
            entry.size.map_or("size not published".into(), human_bytes),
        );
        println!("    licence: {}", entry.licence);
        println!(
            "    sha256:  {}",
            entry
                .sha256
                .as_deref()
                .unwrap_or("not published: pull with --sha256 HEX")
        );
        println!("    {}", entry.note);
    }
    println!("\nDownload one with `tinct models pull NAME`.");
    Ok(ExitCode::SUCCESS)
}

pub fn pull(common: &Common, args: &PullArgs) -> Result<ExitCode, CommandError> {
    let catalogue = load_catalogue(common)?;
    let entry = catalogue
        .get(&args.name)
        .cloned()
        .ok_or_else(|| download::PullError::UnknownEntry(args.name.clone()))?;
    let engine = super::engine(common)?;
    let bar = ProgressBar::new(entry.size.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(entry.name.clone());
    let report = |progress: Progress| {
        if let Some(total) = progress.total {
            bar.set_length(total);
        }
        bar.set_position(progress.done);
    };
    let options = PullOptions {
        mirror: args.mirror.as_deref().map(Mirror::parse),
        sha256: args.sha256.clone(),
    };
    let cancel = AtomicBool::new(false);
    let outcome = tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?
        .block_on(download::pull(
            engine.registry(),
            engine.runtime(),
            &entry,
            &options,
            &report,
            &cancel,
        ));
    bar.finish_and_clear();
    let model = outcome?;
    println!(
        "Downloaded and verified '{}' ({}, sha256 {}); it is registered as {}.",
        entry.display_name,
        human_bytes(std::fs::metadata(&model.path).map_or(0, |m| m.len())),
        model.manifest.sha256,
        model.manifest.name
    );
    println!("Licence: {}", entry.licence);
    Ok(ExitCode::SUCCESS)
}
