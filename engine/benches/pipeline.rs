//! Per-image time of Tinct's pipeline, stage by stage, against the Python reference pipeline
//! (onnxruntime + numpy + Pillow) on the same model and images, measured in the same run.
//!
//!     cargo bench -p engine --bench pipeline -- [--model FILE.onnx]... [--repeat N] [--write docs/benchmarks.md]
//!
//! Each measurement runs in a child process (one warm-up, then the median of N runs) so that its
//! peak memory is its own. The reference needs `tools/reference/.venv` (see its requirements.txt).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use engine::encode::OutputFormat;
use engine::registry::{ModelManifest, RegisteredModel};
use engine::runtime::{Device, Runtime, RuntimeOptions};
use engine::{EngineSettings, LoadedModel, Timings};
use serde_json::{json, Value};

const STAGES: [&str; 5] = ["decode", "preprocess", "inference", "postprocess", "encode"];

struct Options {
    models: Vec<PathBuf>,
    repeat: usize,
    size: u32,
    threads: usize,
    write: Option<PathBuf>,
}

struct Row {
    model: String,
    image: String,
    tinct: Value,
    reference: Option<Value>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        models: Vec::new(),
        repeat: 3,
        size: 512,
        threads: 0,
        write: None,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            // cargo runs benches from the engine folder: read paths from the repository root.
            "--model" => options.models.push(root().join(value()?)),
            "--repeat" => {
                options.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?
            }
            "--size" => options.size = value()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--threads" => {
                options.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?
            }
            "--write" => options.write = Some(root().join(value()?)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.models.is_empty() {
        options.models.push(root().join("models/tinct-mini.onnx"));
    }
    Ok(options)
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--child") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        match child(&args) {
            Ok(result) => println!("{result}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    } else if let Err(e) = parse().and_then(|options| run(&options)) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

/// A grey test picture with smooth areas, edges and texture, written as an 8-bit grey PNG.
fn make_image(path: &Path, width: u32, height: u32) -> Result<(), String> {
    let image = image::ImageBuffer::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let sky = 0.85 - 0.4 * fy;
        let hills = 0.35 + 0.1 * (fx * 40.0).sin() * (fy * 25.0).cos();
        let base = if fy > 0.55 + 0.05 * (fx * 12.0).sin() {
            hills
        } else {
            sky
        };
        let texture = (((x / 7 + y / 5) % 3) as f32 - 1.0) * 0.02;
        image::Luma([((base + texture).clamp(0.0, 1.0) * 255.0) as u8])
    });
    image.save(path).map_err(|e| e.to_string())
}

fn run(options: &Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("tinct-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let images = [
        ("512×512", dir.join("small.png"), 512, 512),
        ("4000×3000", dir.join("large.png"), 4000, 3000),
    ];
    for (_, path, w, h) in &images {
        make_image(path, *w, *h)?;
    }
    let python = root().join("tools/reference/.venv/bin/python");
    if !python.is_file() {
        eprintln!("(no Python reference: create tools/reference/.venv from its requirements.txt)");
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for model in &options.models {
        for (label, image, ..) in &images {
            eprintln!("measuring {} on {label}…", model.display());
            let args = [
                model.display().to_string(),
                image.display().to_string(),
                options.repeat.to_string(),
                options.threads.to_string(),
                options.size.to_string(),
            ];
            let tinct = measure(Command::new(&exe).arg("--child").args(&args))?;
            let reference = if python.is_file() {
                let script = root().join("tools/reference/bench_reference.py");
                Some(measure(Command::new(&python).arg(script).args([
                    "--model",
                    &args[0],
                    "--image",
                    &args[1],
                    "--repeat",
                    &args[2],
                    "--threads",
                    &args[3],
                    "--size",
                    &args[4],
                ]))?)
            } else {
                None
            };
            rows.push(Row {
                model: model
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                image: label.to_string(),
                tinct,
                reference,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let report = report(options, &rows);
    println!("{report}");
    if let Some(path) = &options.write {
        std::fs::write(path, &report).map_err(|e| e.to_string())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn measure(command: &mut Command) -> Result<Value, String> {
    let out = command.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn ms(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

fn report(options: &Options, rows: &[Row]) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let threads = match options.threads {
        0 => format!(
            "all {} cores",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        n => format!("{n} threads"),
    };
    let mut out = format!(
        "Input size S = {}, median of {} runs after one warm-up, ONNX Runtime 1.31.1 on the CPU ({cpu}, {threads}).\n\n",
        options.size, options.repeat
    );
    out.push_str("| model | image | stage | Tinct ms | reference ms | Tinct / reference |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | ---: |\n");
    for row in rows {
        for stage in STAGES.iter().copied().chain(["total"]) {
            let reference = row.reference.as_ref().map(|r| ms(r, stage));
            out.push_str(&format!(
                "| {} | {} | {stage} | {:.1} | {} | {} |\n",
                row.model,
                row.image,
                ms(&row.tinct, stage),
                reference.map_or("–".into(), |r| format!("{r:.1}")),
                reference.map_or("–".into(), |r| format!(
                    "{:.2}",
                    ms(&row.tinct, stage) / r
                )),
            ));
        }
    }
    out.push_str("\n| model | image | Tinct (pre + post) / inference | Tinct peak MB | reference peak MB |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: |\n");
    for row in rows {
        let t = &row.tinct;
        out.push_str(&format!(
            "| {} | {} | {:.1} % | {:.0} | {} |\n",
            row.model,
            row.image,
            100.0 * (ms(t, "preprocess") + ms(t, "postprocess")) / ms(t, "inference"),
            ms(t, "peak_rss_mb"),
            row.reference
                .as_ref()
                .map_or("–".into(), |r| format!("{:.0}", ms(r, "peak_rss_mb"))),
        ));
    }
    out
}

/// One measurement in this process: `MODEL IMAGE REPEAT THREADS SIZE`.
fn child(args: &[String]) -> Result<Value, String> {
    let [model, image, repeat, threads, size] = args else {
        return Err("usage: --child MODEL IMAGE REPEAT THREADS SIZE".into());
    };
    let number = |s: &str| s.parse::<usize>().map_err(|e| e.to_string());
    let library = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".local/onnxruntime/libonnxruntime.so"));
    let runtime = Runtime::init(RuntimeOptions {
        library: Some(library),
        device: Device::Cpu,
        intra_threads: number(threads)?,
    })
    .map_err(|e| e.to_string())?;
    let path = PathBuf::from(model);
    let registered = RegisteredModel {
        manifest: ModelManifest {
            name: "bench".into(),
            display_name: None,
            file: model.clone(),
            sha256: engine::registry::sha256_file(&path).map_err(|e| e.to_string())?,
            kind: "ddcolor-compatible".into(),
            family: Default::default(),
            precision: None,
            default_input_size: number(size)? as u32,
            licence: String::new(),
            source: String::new(),
            training_data: None,
            evaluation: None,
            input_size: None,
            notice: None,
            variant_of: None,
        },
        path,
        builtin: false,
    };
    let loaded = LoadedModel::load(&runtime, registered, &EngineSettings::default())
        .map_err(|e| e.to_string())?;
    let bytes = std::fs::read(image).map_err(|e| e.to_string())?;
    let once = || {
        loaded
            .colorize(&bytes, None, OutputFormat::Png, u64::MAX)
            .map(|r| r.timings)
            .map_err(|e| e.to_string())
    };
    once()?;
    let runs: Vec<Timings> = (0..number(repeat)?.max(1))
        .map(|_| once())
        .collect::<Result<_, _>>()?;
    let median = |stage: fn(&Timings) -> Duration| {
        let mut values: Vec<f64> = runs
            .iter()
            .map(|t| stage(t).as_secs_f64() * 1000.0)
            .collect();
        values.sort_by(|a, b| a.total_cmp(b));
        values[values.len() / 2]
    };
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        });
    Ok(json!({
        "decode": median(|t| t.decode),
        "preprocess": median(|t| t.preprocess),
        "inference": median(|t| t.inference),
        "postprocess": median(|t| t.postprocess),
        "encode": median(|t| t.encode),
        "total": median(|t| t.total()),
        "peak_rss_mb": peak_kb.map_or(f64::NAN, |kb| kb / 1024.0),
    }))
}
