//! HuBERT-base-size forward through ONNX Runtime (10 s @ 16 kHz, batch 1, f32, all 13 hidden states, 2 threads),
//! side by side with PyTorch/transformers on the same weights and input.
//!
//! The base-size export is generated on demand (not committed, ~380 MB):
//!
//! ```text
//! python tests/golden/onnx/generate.py --base target/onnx-bench
//! cargo bench -p mirlens-onnx --bench onnx
//! ```
//!
//! Environment: `MIRLENS_ONNX_BENCH_DIR` (default `<workspace>/target/onnx-bench`), `MIRLENS_BENCH_PYTHON` (the
//! Python running `scripts/bench/onnx_peer.py`; default `python3`), `MIRLENS_BENCH_PAIRS` (interleaved pairs,
//! default 7), plus the runtime lookup of `mirlens-onnx` (`ORT_DYLIB_PATH` or `.venv`).

use criterion::Criterion;
use mirlens_core::LayerSelection;
use mirlens_models::{EncodeOptions, Encoder};
use mirlens_onnx::{OnnxEncoder, OnnxOptions, RuntimeSearch};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const THREADS: usize = 2;
const SAMPLES: usize = 160_000;

/// Deterministic test signal, identical to `bench_input` of `scripts/bench/onnx_peer.py`.
fn bench_input(n: usize) -> Vec<f32> {
    use std::f64::consts::PI;
    (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            (0.5 * (2.0 * PI * 440.0 * t).sin()
                + 0.2 * (2.0 * PI * 1234.5 * t + 0.3).sin()
                + 0.05 * (2.0 * PI * 97.0 * t).sin()) as f32
        })
        .collect()
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or(here)
}

fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

struct Peer {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Peer {
    fn start(python: &str, script: &Path, model_dir: &Path) -> Result<(Peer, String), String> {
        let mut child = Command::new(python)
            .arg(script)
            .arg(model_dir)
            .arg(THREADS.to_string())
            .arg(SAMPLES.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {python}: {e}"))?;
        let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut ready = String::new();
        out.read_line(&mut ready).map_err(|e| e.to_string())?;
        if !ready.starts_with("ready") {
            return Err(format!("peer did not start (said {ready:?})"));
        }
        Ok((Peer { child, out }, ready.trim().to_string()))
    }

    fn ask(&mut self, cmd: &str) -> String {
        let stdin = self.child.stdin.as_mut().expect("peer stdin");
        writeln!(stdin, "{cmd}").expect("write to peer");
        stdin.flush().expect("flush peer");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read from peer");
        line.trim().to_string()
    }
}

fn main() {
    let dir = std::env::var_os("MIRLENS_ONNX_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("onnx-bench"));
    let model = dir.join("hubert_base.onnx");
    if !model.is_file() {
        eprintln!(
            "{} is missing; generate it with `python tests/golden/onnx/generate.py --base {}`",
            model.display(),
            dir.display()
        );
        std::process::exit(2);
    }
    let opts = OnnxOptions {
        threads: THREADS,
        runtime: RuntimeSearch::from_env().also_search(workspace_root()),
        ..OnnxOptions::default()
    };
    let enc = OnnxEncoder::load(&model, &opts).unwrap_or_else(|e| panic!("{e}"));
    let x = bench_input(SAMPLES);
    let sel = LayerSelection::All;
    let eo = EncodeOptions::default();
    let t0 = Instant::now();
    let first = enc.encode(&x, &sel, &eo).expect("forward");
    println!(
        "onnx runtime {} from {}; first call {:.3} s; {} layers x [{}, {}]",
        enc.runtime().version(),
        enc.runtime().location().path.display(),
        t0.elapsed().as_secs_f64(),
        first.layers.len(),
        first.frames,
        first.hidden
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    c.bench_function("onnx/hubert_base_10s_16k_all_layers_2threads", |b| {
        b.iter(|| {
            enc.encode(std::hint::black_box(&x), &sel, &eo)
                .expect("forward")
        })
    });
    c.final_summary();

    let python = std::env::var("MIRLENS_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = workspace_root()
        .join("scripts")
        .join("bench")
        .join("onnx_peer.py");
    let (mut peer, ready) = match Peer::start(&python, &script, &dir.join("hubert_base")) {
        Ok(p) => p,
        Err(e) => {
            println!(
                "peer comparison skipped: {e} (set MIRLENS_BENCH_PYTHON to a Python with torch + transformers)"
            );
            return;
        }
    };
    println!("peer: {ready} ({THREADS} threads)");
    // parity in the same run
    let dump = std::env::temp_dir().join(format!("mirlens-onnx-peer-{}.f32", std::process::id()));
    assert_eq!(peer.ask(&format!("dump {}", dump.display())), "ok");
    let bytes = std::fs::read(&dump).expect("peer dump");
    let _ = std::fs::remove_file(&dump);
    let torch: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let ours: Vec<f32> = first
        .layers
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    assert_eq!(
        torch.len(),
        ours.len(),
        "peer returned a different number of values"
    );
    let max_abs = ours
        .iter()
        .zip(&torch)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("parity: max abs difference onnx vs torch over all 13 hidden states {max_abs:.3e}");

    let pairs: usize = std::env::var("MIRLENS_BENCH_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let (mut ratios, mut ours_t, mut peer_t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..pairs {
        let t = Instant::now();
        std::hint::black_box(enc.encode(&x, &sel, &eo).expect("forward"));
        let o = t.elapsed().as_secs_f64();
        let p: f64 = peer.ask("run").parse().expect("peer time");
        ours_t.push(o);
        peer_t.push(p);
        ratios.push(p / o);
    }
    let peer_mem: u64 = peer.ask("mem").parse().unwrap_or(0);
    peer.ask("quit");
    let _ = peer.child.wait();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!(
        "interleaved x{pairs}: onnx median {:.3} s (min {:.3}), torch median {:.3} s (min {:.3}); \
         speed-up torch/onnx median {:.2}x [{:.2}-{:.2}]; onnx time = {:.2}x torch (median)",
        median(&mut ours_t.clone()),
        min(&ours_t),
        median(&mut peer_t.clone()),
        min(&peer_t),
        median(&mut ratios.clone()),
        min(&ratios),
        max(&ratios),
        1.0 / median(&mut ratios.clone()),
    );
    println!(
        "peak RSS: mirlens bench process {:.0} MiB, torch peer {:.0} MiB",
        peak_rss_bytes().unwrap_or(0) as f64 / 1048576.0,
        peer_mem as f64 / 1048576.0
    );
}
