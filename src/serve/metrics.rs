//! Request counters and latency histograms, rendered with the pool's state in Prometheus'
//! text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::pool::Pool;

/// Histogram bucket bounds in seconds (from 0.5 ms, for the server's own work, up to the
/// seconds a queued request may wait behind a busy stick).
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Reads one per-stick figure (absent when the stick does not report it).
type StickValue = fn(&super::StickStatus) -> Option<f64>;

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(at) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.counts[at] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.counts) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    queue: Histogram,
    preprocess: Histogram,
    inference: Histogram,
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a finished request to `route` (a fixed route name) with its status and duration.
    pub fn observe_request(&self, route: &'static str, status: u16, took: Duration) {
        let mut inner = self.lock();
        *inner.requests.entry((route, status)).or_default() += 1;
        inner.latency.entry(route).or_default().observe(took.as_secs_f64());
    }

    /// Records where an answered inference spent its time.
    pub fn observe_stages(&self, queue: Duration, preprocess: Duration, inference: Duration) {
        let mut inner = self.lock();
        inner.queue.observe(queue.as_secs_f64());
        inner.preprocess.observe(preprocess.as_secs_f64());
        inner.inference.observe(inference.as_secs_f64());
    }

    /// Requests counted for `route` with `status`.
    pub fn requests(&self, route: &str, status: u16) -> u64 {
        self.lock().requests.iter().filter(|((r, s), _)| *r == route && *s == status).map(|(_, n)| n).sum()
    }

    /// Everything, with the pool's state, in Prometheus' text format.
    pub fn render(&self, pool: &Pool) -> String {
        let inner = self.lock();
        let mut out = String::with_capacity(8192);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(&mut out, "ncs_requests_total", "counter", "HTTP requests answered, by route and status code.");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(out, "ncs_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        head(&mut out, "ncs_request_duration_seconds", "histogram", "Time from request to response, by route.");
        for (route, h) in &inner.latency {
            h.render(&mut out, "ncs_request_duration_seconds", &format!("route=\"{route}\""));
        }
        for (name, h, help) in [
            ("ncs_queue_wait_seconds", &inner.queue, "Time an inference waited for a stick."),
            ("ncs_preprocess_seconds", &inner.preprocess, "Decoding and preprocessing time per image."),
            ("ncs_inference_seconds", &inner.inference, "Time on the stick per inference (both slots in use)."),
        ] {
            head(&mut out, name, "histogram", help);
            h.render(&mut out, name, "");
        }
        drop(inner);
        head(&mut out, "ncs_queue_depth", "gauge", "Requests waiting for preprocessing or a stick.");
        let _ = writeln!(out, "ncs_queue_depth {}", pool.waiting());
        head(&mut out, "ncs_queue_capacity", "gauge", "Requests that may wait at once (--queue).");
        let _ = writeln!(out, "ncs_queue_capacity {}", pool.capacity());
        head(&mut out, "ncs_retried_total", "counter", "Inferences retried on another stick after a stick failed.");
        let _ = writeln!(out, "ncs_retried_total {}", pool.retried());
        let sticks = pool.sticks();
        let per_stick: [(&str, &str, &str, StickValue); 7] = [
            ("ncs_stick_up", "gauge", "1 when the stick takes jobs, 0 while it recovers.", |s| {
                Some(f64::from(u8::from(s.state == super::StickState::Ready)))
            }),
            ("ncs_stick_in_flight", "gauge", "Inferences queued on the stick.", |s| Some(s.in_flight as f64)),
            ("ncs_stick_inferences_total", "counter", "Inferences answered by the stick.", |s| {
                Some(s.inferences as f64)
            }),
            ("ncs_stick_failures_total", "counter", "Times the stick failed and was taken out.", |s| {
                Some(s.failures as f64)
            }),
            ("ncs_stick_recoveries_total", "counter", "Times the stick came back after a failure.", |s| {
                Some(s.recoveries as f64)
            }),
            ("ncs_stick_temperature_celsius", "gauge", "Hottest sensor with the last result.", |s| {
                s.temperature_c.map(f64::from)
            }),
            ("ncs_stick_throttling_level", "gauge", "Thermal throttling with the last result (0 none, 1, 2).", |s| {
                s.throttling.map(f64::from)
            }),
        ];
        for (name, kind, help, value) in per_stick {
            head(&mut out, name, kind, help);
            for s in &sticks {
                if let Some(v) = value(s) {
                    let _ = writeln!(out, "{name}{{stick=\"{}\",kind=\"{}\"}} {v}", s.name, s.kind);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_everything() {
        let mut h = Histogram::default();
        for s in [0.0001, 0.003, 0.003, 20.0] {
            h.observe(s);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "");
        assert!(out.contains("x_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"10\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count 4\n"), "{out}");
    }
}
