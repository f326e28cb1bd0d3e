//! Comparing a backend's output with the CPU reference, mvNCCheck style, and finding the first
//! stage where they part ways.
//!
//! Metrics (all relative to the reference's largest magnitude, as mvNCCheck reports them):
//! max |error|, mean |error|, RMS error ("L2"), and the share of values off by more than the
//! per-value threshold; for classifier outputs also top-1 and top-5 agreement. The default
//! criteria are mvNCCheck's: max ≤ 2 %, mean ≤ 1 %, RMS ≤ 1 %, and no value beyond 2 %.

use crate::backend::Backend;
use crate::blob::{Blob, GraphFile, Location, Tensor};
use crate::error::{Error, Result};
use crate::reference::{Executor, Precision};

/// Pass criteria, in percent of the reference's largest magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// Largest single error allowed.
    pub max_error_pct: f64,
    /// Mean error allowed.
    pub mean_error_pct: f64,
    /// RMS error allowed.
    pub l2_error_pct: f64,
    /// An error above this counts a value as "beyond".
    pub value_threshold_pct: f64,
    /// Share of values allowed beyond the threshold.
    pub beyond_allowed_pct: f64,
}

impl Default for Criteria {
    /// mvNCCheck's criteria.
    fn default() -> Self {
        Criteria {
            max_error_pct: 2.0,
            mean_error_pct: 1.0,
            l2_error_pct: 1.0,
            value_threshold_pct: 2.0,
            beyond_allowed_pct: 0.0,
        }
    }
}

/// How one output compares with the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Values compared.
    pub count: usize,
    /// Largest |reference| (the scale of the relative metrics).
    pub reference_max: f64,
    /// max |error| / reference_max, %.
    pub max_error_pct: f64,
    /// mean |error| / reference_max, %.
    pub mean_error_pct: f64,
    /// RMS error / reference_max, %.
    pub l2_error_pct: f64,
    /// Values off by more than the threshold, %.
    pub beyond_pct: f64,
    /// Non-finite values in the tested output.
    pub non_finite: usize,
    /// Same arg-max (classifier outputs only).
    pub top1_agrees: Option<bool>,
    /// Size of the intersection of the top-5 sets (classifier outputs with ≥ 5 classes).
    pub top5_overlap: Option<usize>,
    /// Whether every criterion holds.
    pub pass: bool,
}

/// Compares `tested` against `reference` under `criteria`.
pub fn compare(tested: &[f32], reference: &[f32], criteria: &Criteria) -> Result<Comparison> {
    if tested.len() != reference.len() {
        return Err(Error::Usage(format!(
            "cannot compare an output of {} values with a reference of {}",
            tested.len(),
            reference.len()
        )));
    }
    let count = reference.len();
    let reference_max = reference.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs())).max(f64::MIN_POSITIVE);
    let non_finite = tested.iter().filter(|v| !v.is_finite()).count();
    let errors: Vec<f64> = tested.iter().zip(reference).map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs()).collect();
    let pct = |v: f64| 100.0 * v / reference_max;
    let n = count.max(1) as f64;
    let max = errors.iter().cloned().fold(0.0, f64::max);
    let mean = errors.iter().sum::<f64>() / n;
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt();
    let beyond = errors.iter().filter(|&&e| pct(e) > criteria.value_threshold_pct || e.is_nan()).count();
    let classifier = count > 1;
    let top = |v: &[f32], k: usize| top_k(v, k).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
    let top1_agrees = classifier.then(|| top(tested, 1) == top(reference, 1));
    let top5_overlap = (count >= 5).then(|| {
        let theirs = top(reference, 5);
        top(tested, 5).iter().filter(|i| theirs.contains(i)).count()
    });
    let mut c = Comparison {
        count,
        reference_max,
        max_error_pct: pct(max),
        mean_error_pct: pct(mean),
        l2_error_pct: pct(rms),
        beyond_pct: 100.0 * beyond as f64 / n,
        non_finite,
        top1_agrees,
        top5_overlap,
        pass: false,
    };
    c.pass = non_finite == 0
        && c.max_error_pct <= criteria.max_error_pct
        && c.mean_error_pct <= criteria.mean_error_pct
        && c.l2_error_pct <= criteria.l2_error_pct
        && c.beyond_pct <= criteria.beyond_allowed_pct;
    Ok(c)
}

/// Indices and values of the `k` largest outputs, largest first (ties by lower index).
pub fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.into_iter().take(k).map(|i| (i, values[i])).collect()
}

/// The first `stages` stages of a blob, the last one writing its output, densely, to the
/// network output — a graph whose result is that stage's output.
pub fn prefix_graph(blob: &Blob, stages: usize) -> Result<GraphFile> {
    if stages == 0 || stages > blob.stages.len() {
        return Err(Error::Usage(format!("prefix of {stages} stages of a {}-stage graph", blob.stages.len())));
    }
    let mut prefix = blob.clone();
    prefix.stages.truncate(stages);
    let last = prefix.stages.last_mut().expect("non-empty");
    let dims = last.output.dims;
    last.output = Tensor { location: Location::Output, pointer: 0, dims, strides: dims.hwc_strides() };
    Ok(GraphFile::from_blob(prefix)?)
}

/// Where a backend first diverges from the reference.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// Index of the first stage whose output fails the criteria.
    pub stage: usize,
    /// Its name.
    pub name: String,
    /// Its comparison.
    pub comparison: Comparison,
    /// Prefix lengths run, in order (the whole graph first).
    pub probes: Vec<usize>,
}

/// Builds a backend with a graph loaded.
pub type OpenBackend<'a> = dyn FnMut(&GraphFile) -> Result<Box<dyn Backend + Send>> + 'a;

/// Finds the first stage whose output fails `criteria` on a backend, by running prefix graphs
/// through `open` (which builds a backend for a graph file): first the whole graph, then the
/// prefixes in execution order until one fails. (A binary search would be wrong for branched
/// networks: a stage on one branch does not affect a prefix ending on a parallel branch.)
/// `None` when the whole graph passes.
pub fn bisect(
    blob: &Blob,
    input: &[f32],
    criteria: &Criteria,
    open: &mut OpenBackend<'_>,
) -> Result<Option<Divergence>> {
    // The reference's output of every stage, as the prefix graph would return it.
    let mut reference = Vec::with_capacity(blob.stages.len());
    let mut executor = Executor::new(blob, Precision::Fp16)?;
    executor.run_observed(input, &mut |s| reference.push(s.values.to_vec()))?;
    let mut probes = Vec::new();
    let mut backend_name = "";
    let mut check = |stages: usize| -> Result<Comparison> {
        probes.push(stages);
        let mut backend = open(&prefix_graph(blob, stages)?)?;
        backend_name = backend.name();
        let output = backend.infer(input)?.output;
        compare(&output, &reference[stages - 1], criteria)
    };
    if check(blob.stages.len())?.pass {
        return Ok(None);
    }
    for stages in 1..=blob.stages.len() {
        let comparison = check(stages)?;
        if !comparison.pass {
            return Ok(Some(Divergence {
                stage: stages - 1,
                name: blob.stages[stages - 1].name_text(),
                comparison,
                probes,
            }));
        }
    }
    // The last prefix is the whole graph again: reaching here means its answer changed.
    Err(Error::BackendFault {
        backend: backend_name.into(),
        message: "not deterministic: the whole graph failed, then passed when run again".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_follow_their_definitions() {
        let reference = [1.0f32, -4.0, 2.0, 0.5, 0.0];
        let same = compare(&reference, &reference, &Criteria::default()).unwrap();
        assert!(
            same.pass && same.max_error_pct == 0.0 && same.top1_agrees == Some(true) && same.top5_overlap == Some(5)
        );
        let off = [1.0f32, -4.0, 2.2, 0.5, 0.0]; // one error of 0.2 = 5 % of 4
        let c = compare(&off, &reference, &Criteria::default()).unwrap();
        assert!((c.max_error_pct - 5.0).abs() < 1e-4 && (c.mean_error_pct - 1.0).abs() < 1e-4);
        assert!((c.beyond_pct - 20.0).abs() < 1e-9 && !c.pass);
        let lenient = Criteria {
            max_error_pct: 6.0,
            mean_error_pct: 2.0,
            l2_error_pct: 5.0,
            value_threshold_pct: 6.0,
            ..Criteria::default()
        };
        assert!(compare(&off, &reference, &lenient).unwrap().pass);
        assert!(!compare(&[f32::NAN, -4.0, 2.0, 0.5, 0.0], &reference, &lenient).unwrap().pass);
        assert!(compare(&[1.0], &reference, &lenient).is_err());
    }
}
