//! `ncs compile` on the frozen TF-Slim Inception V3 (issue 14 target: ≤ 2 s and ≤ 3× the pb's
//! size in memory), against reading the same pb from the page cache in the same run.
//!
//! The pb is generated, not committed: `python3 tests/data/gen_compile.py inception` writes
//! `target/compile/inception_v3_slim.pb` (or set `NCS_INCEPTION_PB`).
//! Run: `cargo bench --bench compile` (medians over 10 runs; peak heap from a counting allocator).
//! Always measured, Inception or not: the committed real pbs and a hostile pb of a few KB (a
//! chain of 200 Reshapes over a constant of 16 Mi values given by one value).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ncs::compile::{compile, CompileOptions};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on as is.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median compile time and the largest peak heap over `runs` compiles of `pb`, the heap as a
/// multiple of the pb's size (the pb's own bytes included, as `ncs compile` holds them).
fn measure(pb: &[u8], options: &CompileOptions, runs: usize) -> (Duration, f64, Result<usize, String>) {
    let mut times = Vec::new();
    let mut peak_over_pb: f64 = 0.0;
    let mut outcome = Err(String::new());
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let bytes = pb.to_vec();
        let t = Instant::now();
        let result = compile(Bytes::from(bytes), options);
        times.push(t.elapsed());
        outcome = result.map(|c| c.blob.stages.len()).map_err(|e| format!("{:?}", e.kind));
        peak_over_pb = peak_over_pb.max((PEAK.load(Ordering::Relaxed) - base) as f64 / pb.len() as f64);
    }
    (median(times), peak_over_pb, outcome)
}

/// A pb of a few KB: the committed conv → bias → relu graph scaled by a constant of 4096×4096
/// values (one value, filled) reshaped `count` times: refused by the constant budget after two
/// Reshapes; before constants were shared, each Reshape copied 64 MiB.
fn reshape_chain_pb(count: usize) -> Vec<u8> {
    use ncs::compile::proto::{
        attr_value::Value, dtype, AttrValue, Dim, GraphDef, NodeDef, TensorProto, TensorShapeProto,
    };
    use prost::Message;
    let shape =
        |dims: &[i64]| TensorShapeProto { dim: dims.iter().map(|&size| Dim { size }).collect(), unknown_rank: false };
    let constant = |name: &str, tensor: TensorProto| {
        let mut node = NodeDef { name: name.into(), op: "Const".into(), ..Default::default() };
        node.attr.insert("value".into(), AttrValue { value: Some(Value::Tensor(tensor)) });
        node
    };
    let op = |name: &str, op: &str, inputs: &[&str]| NodeDef {
        name: name.into(),
        op: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/compile/ops/conv_bias_relu.pb");
    let mut g = GraphDef::decode(&std::fs::read(path).expect("the committed pb")[..]).expect("a GraphDef");
    let float = TensorProto {
        dtype: dtype::FLOAT,
        tensor_shape: Some(shape(&[4096, 4096])),
        float_val: vec![0.5],
        ..Default::default()
    };
    g.node.push(constant("big", float));
    for (name, dims) in [("flat", vec![1i64 << 24]), ("square", vec![4096, 4096])] {
        let t = TensorProto {
            dtype: dtype::INT64,
            tensor_shape: Some(shape(&[dims.len() as i64])),
            int64_val: dims,
            ..Default::default()
        };
        g.node.push(constant(name, t));
    }
    let mut previous = "big".to_string();
    for i in 0..count {
        let name = format!("reshape{i}");
        g.node.push(op(&name, "Reshape", &[&previous, ["flat", "square"][i % 2]]));
        previous = name;
    }
    g.node.push(op("scaled", "Mul", &["Relu", &previous]));
    g.node.iter_mut().find(|n| n.name == "output").expect("an output node").input[0] = "scaled".into();
    g.encode_to_vec()
}

/// The committed real pbs and the hostile chain: time and peak heap against pb size.
fn small_pbs() {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/compile/real");
    let cases = [
        ("ncs_test.pb", "input", "output"),
        ("deeppicar.pb", "input_x", "output_y"),
        ("conv_regression.pb", "imgs", "output/BiasAdd"),
    ];
    println!("{:<28} {:>10} {:>12} {:>14}  outcome", "pb", "bytes", "compile ms", "peak heap/pb");
    for (name, input, output) in cases {
        let pb = std::fs::read(real.join(name)).expect("a committed real pb");
        let options = CompileOptions { input: input.into(), output: output.into(), shaves: 12, input_shape: None };
        let (time, peak, outcome) = measure(&pb, &options, 10);
        println!("{name:<28} {:>10} {:>12.2} {peak:>14.2}  {outcome:?} stages", pb.len(), ms(time));
    }
    let pb = reshape_chain_pb(200);
    let options = CompileOptions { input: "input".into(), output: "output".into(), shaves: 12, input_shape: None };
    let (time, peak, outcome) = measure(&pb, &options, 3);
    println!("{:<28} {:>10} {:>12.2} {peak:>14.0}  {outcome:?}", "200 Reshapes of 16 Mi (gen)", pb.len(), ms(time));
}

fn main() {
    small_pbs();
    let path = std::env::var_os("NCS_INCEPTION_PB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compile/inception_v3_slim.pb"));
    if !path.exists() {
        println!(
            "Inception V3 skipped: {} is missing; generate it with `python3 tests/data/gen_compile.py inception`",
            path.display()
        );
        return;
    }
    let options = CompileOptions {
        input: "input".into(),
        output: "InceptionV3/Predictions/Softmax".into(),
        shaves: 12,
        input_shape: None,
    };
    let runs = 10;
    let (mut read, mut compiled, mut written) = (Vec::new(), Vec::new(), Vec::new());
    let mut pb_len = 0;
    let mut peak_over_pb: f64 = 0.0;
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let pb = std::fs::read(&path).expect("read the pb");
        read.push(t.elapsed());
        pb_len = pb.len();
        let t = Instant::now();
        let result = compile(Bytes::from(pb), &options).expect("compile");
        compiled.push(t.elapsed());
        let t = Instant::now();
        let bytes = ncs::blob::write(&result.blob).expect("write");
        written.push(t.elapsed());
        std::hint::black_box(&bytes);
        peak_over_pb = peak_over_pb.max((PEAK.load(Ordering::Relaxed) - base) as f64 / pb_len as f64);
    }
    let (read, compiled, written) = (median(read), median(compiled), median(written));
    println!("pb                         : {} ({:.1} MB)", path.display(), pb_len as f64 / 1e6);
    println!("read from page cache       : {:8.1} ms", ms(read));
    println!("compile (decode → blob)    : {:8.1} ms (target ≤ 2000 ms)", ms(compiled));
    println!("write the graph file bytes : {:8.1} ms", ms(written));
    println!("compile / read ratio       : {:8.2}", compiled.as_secs_f64() / read.as_secs_f64());
    println!("peak heap / pb size        : {:8.2} (target ≤ 3; pb, blob and file bytes included)", peak_over_pb);
}
