//! Latency statistics and throughput measurement.
//!
//! Percentiles use the nearest-rank definition: the p-th percentile of n sorted samples is the
//! sample at rank ⌈p/100 · n⌉ (1-based), so it is always an observed latency.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::Result;

/// Summary of a latency sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Fastest, ms.
    pub min: f64,
    /// Median (50th percentile, nearest rank), ms.
    pub median: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Slowest, ms.
    pub max: f64,
    /// Mean, ms.
    pub mean: f64,
}

/// The p-th percentile (0 < p ≤ 100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

impl Latency {
    /// Summarises samples in milliseconds.
    pub fn of(samples_ms: &[f64]) -> Latency {
        let mut s = samples_ms.to_vec();
        s.sort_by(f64::total_cmp);
        Latency {
            min: s.first().copied().unwrap_or(f64::NAN),
            median: percentile(&s, 50.0),
            p90: percentile(&s, 90.0),
            p99: percentile(&s, 99.0),
            max: s.last().copied().unwrap_or(f64::NAN),
            mean: s.iter().sum::<f64>() / s.len().max(1) as f64,
        }
    }
}

/// The result of a latency run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Per-inference wall times, ms.
    pub samples_ms: Vec<f64>,
    /// Mean per-stage times, ms.
    pub stage_ms: Vec<f64>,
    /// Highest temperature reported, °C (sticks).
    pub max_temperature: Option<f32>,
    /// Highest throttling level reported (sticks).
    pub max_throttling: Option<i32>,
}

/// Runs `warmup` untimed and `iterations` timed single inferences, calling `progress` after each.
pub fn latency(
    backend: &mut dyn Backend,
    input: &[f32],
    warmup: usize,
    iterations: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<Run> {
    for _ in 0..warmup {
        backend.infer(input)?;
    }
    let mut samples_ms = Vec::with_capacity(iterations);
    let mut stage_sum: Vec<f64> = Vec::new();
    let (mut max_temperature, mut max_throttling) = (None::<f32>, None::<i32>);
    for i in 0..iterations {
        let outcome = backend.infer(input)?;
        samples_ms.push(outcome.wall.as_secs_f64() * 1e3);
        if stage_sum.len() < outcome.stage_ms.len() {
            stage_sum.resize(outcome.stage_ms.len(), 0.0);
        }
        stage_sum.iter_mut().zip(&outcome.stage_ms).for_each(|(a, b)| *a += b);
        if let Some(t) = &outcome.telemetry {
            let hottest = t.thermal.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            max_temperature = Some(max_temperature.map_or(hottest, |m| m.max(hottest)));
            max_throttling = Some(max_throttling.map_or(t.throttling, |m| m.max(t.throttling)));
        }
        progress(i + 1);
    }
    let n = iterations.max(1) as f64;
    Ok(Run { samples_ms, stage_ms: stage_sum.into_iter().map(|s| s / n).collect(), max_temperature, max_throttling })
}

/// Inferences per second over `iterations`, with the backend's pipeline kept full.
pub fn throughput(backend: &mut dyn Backend, input: &[f32], iterations: usize) -> Result<f64> {
    let started = Instant::now();
    backend.pipelined(input, iterations)?;
    Ok(iterations as f64 / started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE))
}

/// Aggregate inferences per second of several backends driven from one thread each.
pub fn parallel_throughput(backends: &mut [Box<dyn Backend + Send>], input: &[f32], iterations: usize) -> Result<f64> {
    let started = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            backends.iter_mut().map(|b| scope.spawn(move || b.pipelined(input, iterations))).collect();
        handles
            .into_iter()
            // A panic is a defect, not a measurement: pass it on as it is.
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    for r in results {
        r?;
    }
    let elapsed: Duration = started.elapsed();
    Ok((iterations * backends.len()) as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), 5.0);
        assert_eq!(percentile(&s, 90.0), 9.0);
        assert_eq!(percentile(&s, 99.0), 10.0);
        assert_eq!(percentile(&s, 1.0), 1.0);
        let l = Latency::of(&[3.0, 1.0, 2.0]);
        assert_eq!((l.min, l.median, l.max, l.mean), (1.0, 2.0, 3.0, 2.0));
        assert!(percentile(&[], 50.0).is_nan());
    }
}
