//! `ncs compile` on the frozen TF-Slim Inception V3 (issue 14 target: ≤ 2 s and ≤ 3× the pb's
//! size in memory), against reading the same pb from the page cache in the same run.
//!
//! The pb is generated, not committed: `python3 tests/data/gen_compile.py inception` writes
//! `target/compile/inception_v3_slim.pb` (or set `NCS_INCEPTION_PB`).
//! Run: `cargo bench --bench compile` (medians over 10 runs; peak heap from a counting allocator).

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

fn main() {
    let path = std::env::var_os("NCS_INCEPTION_PB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compile/inception_v3_slim.pb"));
    if !path.exists() {
        println!(
            "compile bench skipped: {} is missing; generate it with `python3 tests/data/gen_compile.py inception`",
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
