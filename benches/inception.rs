//! The CPU reference against the best CPU runtimes, in one run: Inception V3 (299×299, batch 1)
//! on ncs with fp16 and fp32 storage, TensorFlow and ONNX Runtime (2 threads) running the same
//! network (benches/peers_inception.py), interleaved round by round so the machine's load hits
//! every side alike; the real small blobs in `../shared/graphs` on ncs; and the peak RSS of
//! `ncs run` on Inception V3.
//!
//! Run: `sh benches/peers_setup.sh` once (a venv in target/peers-venv with TensorFlow, ONNX
//! Runtime and tf2onnx; without it the peers are skipped with a note), then
//! `cargo bench --bench inception`. `NCS_BENCH_RUNS` (default 20) timed runs per side and round,
//! `NCS_BENCH_ROUNDS` (default 2) rounds, `NCS_PEERS_PYTHON` to use another Python. Prints each
//! round's medians and ratios, the median over rounds, and the per-stage profile.

#[path = "common/cpu_time.rs"]
mod cpu_time;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use cpu_time::cpu_time;
use ncs::blob;
use ncs::graph::networks::inception_v3::{inception_v3, inception_v3_input, INPUT_SIZE};
use ncs::graph::GraphStats;
use ncs::reference::kernels::Isa;
use ncs::reference::{Executor, Precision};

/// Peak RSS target of `ncs run` on Inception V3 (issue 15).
const RSS_TARGET_MIB: f64 = 250.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The middle value, or the mean of the two middle ones for an even count.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 0 {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    } else {
        values[n / 2]
    }
}

/// Median wall and CPU (all threads) ms of `runs` inferences after 3 warm-up ones, and the
/// summed stage times.
fn time_ncs(exec: &mut Executor, input: &[f32], runs: usize) -> (f64, f64, Vec<Duration>) {
    for _ in 0..3 {
        exec.run(input).expect("run");
    }
    let mut totals = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    let mut stages = Vec::new();
    for _ in 0..runs {
        let (t, busy) = (Instant::now(), cpu_time());
        let result = exec.run(input).expect("run");
        totals.push(t.elapsed().as_secs_f64() * 1e3);
        cpu.push(cpu_time().saturating_sub(busy).as_secs_f64() * 1e3);
        stages.resize(result.stage_times.len(), Duration::ZERO);
        stages.iter_mut().zip(&result.stage_times).for_each(|(a, b)| *a += *b);
    }
    (median(totals), median(cpu), stages)
}

/// The peers' process: asked for N runs, it answers with TensorFlow's and ONNX Runtime's medians.
struct Peers {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peers {
    /// Starts benches/peers_inception.py, or says why the peers are skipped.
    fn start(onnx_path: &Path) -> Result<(Peers, String), String> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = manifest.join("target/peers-venv/bin/python");
        let python = std::env::var_os("NCS_PEERS_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
            if venv.exists() {
                venv
            } else {
                PathBuf::from("python3")
            }
        });
        let mut child = Command::new(&python)
            .arg(manifest.join("benches/peers_inception.py"))
            .arg(onnx_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        if let Some(reason) = line.strip_prefix("skip ") {
            let _ = child.wait();
            return Err(reason.trim().to_string());
        }
        if !line.starts_with("ready ") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("peer script failed ({}); see its stderr above", line.trim()));
        }
        Ok((Peers { child, stdin, stdout }, line["ready ".len()..].trim().to_string()))
    }

    /// TensorFlow's and (when installed) ONNX Runtime's median wall and CPU ms over `runs` runs.
    fn measure(&mut self, runs: usize) -> Option<[Option<f64>; 4]> {
        writeln!(self.stdin, "{runs}").ok()?;
        self.stdin.flush().ok()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).ok()?;
        let field = |name: &str| {
            let mut words = line.split_whitespace();
            words.position(|w| w == name)?;
            words.next()?.parse::<f64>().ok()
        };
        field("tf_median_ms")?;
        Some(["tf_median_ms", "ort_median_ms", "tf_cpu_ms", "ort_cpu_ms"].map(field))
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The 1-minute load average (/proc/loadavg), "?" where it cannot be read.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| Some(l.split_whitespace().next()?.to_string()))
        .unwrap_or("?".into())
}

/// Peak RSS in MiB of `ncs run` on the Inception V3 blob, through GNU time (`None` without it).
fn ncs_run_peak_rss(dir: &Path) -> Option<f64> {
    let graph = dir.join("inception_v3.graph");
    let input = dir.join("input.npy");
    std::fs::write(&graph, blob::write(&inception_v3(1011).expect("build")).expect("write")).expect("save graph");
    let n = INPUT_SIZE as usize;
    ncs::npy::write_f32(&input, &[n, n, 3], &inception_v3_input(1011)).expect("save input");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak_rss_kib %M"])
        .arg(env!("CARGO_BIN_EXE_ncs"))
        .arg("run")
        .arg(&graph)
        .arg("--input")
        .arg(&input)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = text.lines().find_map(|l| l.strip_prefix("peak_rss_kib ")?.trim().parse().ok())?;
    out.status.success().then_some(kib / 1024.0)
}

/// Median ms of the real small blobs on ncs (fp16 storage), with their input zero.
fn small_graphs(runs: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/graphs");
    println!("\nreal mvNCCompile blobs ({}), ncs fp16, median of {runs} runs:", dir.display());
    for name in ["mnist.graph", "hsinm_mnist.graph", "ncs_test.graph", "deeppicar.graph", "conv_regression.graph"] {
        let Ok(bytes) = std::fs::read(dir.join(name)) else {
            println!("  {name}: not found, skipped");
            continue;
        };
        let parsed = blob::parse(&bytes).expect("parse");
        let mut exec = Executor::new(&parsed, Precision::Fp16).expect("plan");
        let [h, w, c] = exec.input_shape();
        let input = vec![0.5f32; (h * w * c) as usize];
        let (ms, _, _) = time_ncs(&mut exec, &input, runs);
        let macs = GraphStats::of(&parsed).macs;
        println!("  {name:24} {ms:9.3} ms  {:6.1} GFLOP/s", 2.0 * macs as f64 / 1e9 / (ms / 1e3));
    }
}

fn main() {
    let runs = env_usize("NCS_BENCH_RUNS", 20).max(1);
    let rounds = env_usize("NCS_BENCH_ROUNDS", 2).max(1);
    let graph = inception_v3(1011).expect("build Inception V3");
    let stats = GraphStats::of(&graph);
    let names: Vec<String> = graph.stages.iter().map(|s| s.name_text()).collect();
    let mut fp16 = Executor::new(&graph, Precision::Fp16).expect("plan");
    let mut fp32 = Executor::new(&graph, Precision::Fp32).expect("plan");
    drop(graph);
    let input = inception_v3_input(1011);
    let gflop = 2.0 * stats.macs as f64 / 1e9;
    println!(
        "Inception V3 ({gflop:.2} GFLOP), kernels {} (this CPU has {:?}), {} threads",
        Isa::best(),
        Isa::available(),
        rayon::current_num_threads()
    );

    let work = std::env::temp_dir().join(format!("ncs-bench-inception-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("temp dir");
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers/inception_v3.onnx");
    let mut peers = match Peers::start(&cache) {
        Ok((peers, about)) => {
            println!("peers: {about}");
            Some(peers)
        }
        Err(reason) => {
            println!("peers skipped: {reason}");
            None
        }
    };

    let mut rows: Vec<[Option<f64>; 7]> = Vec::new();
    let mut profile = Vec::new();
    for round in 1..=rounds {
        let (ms16, cpu16, stages) = time_ncs(&mut fp16, &input, runs);
        let (ms32, _, _) = time_ncs(&mut fp32, &input, runs);
        profile = stages;
        let [tf, ort, tf_cpu, ort_cpu] = peers.as_mut().and_then(|p| p.measure(runs)).unwrap_or([None; 4]);
        let ratio = |ours: f64, theirs: Option<f64>| theirs.map_or("-".into(), |t| format!("{:.2}", ours / t));
        let ms = |v: Option<f64>| v.map_or("-".into(), |t| format!("{t:.1} ms"));
        println!(
            "round {round}: ncs fp16 {ms16:.1} ms ({:.0} GFLOP/s), ncs fp32 {ms32:.1} ms, TF {}, ORT {}; \
             fp16/TF {}, fp16/ORT {}",
            gflop / (ms16 / 1e3),
            ms(tf),
            ms(ort),
            ratio(ms16, tf),
            ratio(ms16, ort),
        );
        println!(
            "         CPU time per inference (all threads): ncs fp16 {cpu16:.1} ms, TF {}, ORT {}; fp16/TF {}, fp16/ORT {}",
            ms(tf_cpu),
            ms(ort_cpu),
            ratio(cpu16, tf_cpu),
            ratio(cpu16, ort_cpu),
        );
        rows.push([Some(ms16), Some(ms32), tf, ort, Some(cpu16), tf_cpu, ort_cpu]);
    }
    drop(peers);
    let column = |i: usize| {
        let values: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
        (!values.is_empty()).then(|| median(values))
    };
    let [ms16, ms32, tf, ort, cpu16, tf_cpu, ort_cpu] = [0, 1, 2, 3, 4, 5, 6].map(column);
    let (ms16, ms32, cpu16) = (ms16.expect("measured"), ms32.expect("measured"), cpu16.expect("measured"));
    println!("\nmedian over {rounds} rounds of {runs}-run medians (load average now {}):", load_average());
    println!("  ncs fp16 {ms16:.1} ms ({:.0} GFLOP/s), ncs fp32 {ms32:.1} ms", gflop / (ms16 / 1e3));
    match tf {
        Some(tf) => println!("  TensorFlow {tf:.1} ms: ncs fp16 / TF = {:.2} (target <= 0.80)", ms16 / tf),
        None => println!("  TensorFlow: not measured"),
    }
    match ort {
        Some(ort) => println!("  ONNX Runtime {ort:.1} ms: ncs fp16 / ORT = {:.2} (target <= 1.00)", ms16 / ort),
        None => println!("  ONNX Runtime: not measured"),
    }
    let cpu_ratio =
        |theirs: Option<f64>| theirs.map_or("-".into(), |t| format!("{t:.1} ms (ncs/them {:.2})", cpu16 / t));
    println!(
        "  CPU time per inference: ncs fp16 {cpu16:.1} ms, TF {}, ORT {} (ORT's threads spin while waiting)",
        cpu_ratio(tf_cpu),
        cpu_ratio(ort_cpu)
    );
    println!("  packed convolution weights: {:.1} MiB", fp16.packed_weight_bytes() as f64 / (1 << 20) as f64);

    match ncs_run_peak_rss(&work) {
        Some(mib) => println!("\npeak RSS of `ncs run` on Inception V3: {mib:.1} MiB (target <= {RSS_TARGET_MIB} MiB)"),
        None => println!("\npeak RSS not measured (needs GNU time at /usr/bin/time)"),
    }
    let _ = std::fs::remove_dir_all(&work);

    small_graphs(runs);

    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| profile[b].cmp(&profile[a]));
    println!("\nslowest stages, last fp16 round (mean ms, GFLOP/s):");
    for &i in order.iter().take(15) {
        let ms = profile[i].as_secs_f64() * 1e3 / runs as f64;
        let gf = 2.0 * stats.stages[i].macs as f64 / 1e9 / (ms / 1e3);
        println!("{ms:8.3}  {gf:6.0}  {}", names[i]);
    }
}
