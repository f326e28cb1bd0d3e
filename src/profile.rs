//! Per-stage profile (mvNCProfile's table, plus bytes moved) and a self-contained HTML report.

use crate::blob::{operand_len, Blob, Location, Slot};
use crate::graph::GraphStats;

/// One stage's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StageProfile {
    /// Index.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Operation.
    pub op: String,
    /// Input → output shape, `YxXxZ`.
    pub shapes: String,
    /// Mean time, ms.
    pub ms: f64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Bytes read and written: input, weights and parameters, output.
    pub bytes: u64,
    /// Share of the total time, %.
    pub share: f64,
}

impl StageProfile {
    /// Throughput in GFLOP/s (2 FLOP per MAC).
    pub fn gflops(&self) -> f64 {
        if self.ms > 0.0 {
            2.0 * self.macs as f64 / (self.ms * 1e6)
        } else {
            0.0
        }
    }

    /// Bandwidth in GB/s.
    pub fn gbytes_per_s(&self) -> f64 {
        if self.ms > 0.0 {
            self.bytes as f64 / (self.ms * 1e6)
        } else {
            0.0
        }
    }
}

/// Combines a blob's structure with measured stage times (ms, one per stage).
pub fn profile(blob: &Blob, stage_ms: &[f64]) -> Vec<StageProfile> {
    let stats = GraphStats::of(blob);
    let total: f64 = stage_ms.iter().sum();
    blob.stages
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let ms = stage_ms.get(index).copied().unwrap_or(0.0);
            let moved = [Slot::Input, Slot::Taps, Slot::Bias, Slot::OpParams, Slot::Output]
                .into_iter()
                .filter(|&slot| {
                    let location = match slot {
                        Slot::Input => s.input.location,
                        Slot::Taps => s.taps.location,
                        Slot::Bias => s.bias.location,
                        Slot::OpParams => s.op_params.location,
                        Slot::Output => s.output.location,
                    };
                    location != Location::None
                })
                .map(|slot| operand_len(s, slot))
                .sum();
            let d = |t: &crate::blob::Tensor| format!("{}x{}x{}", t.dims.y, t.dims.x, t.dims.z);
            StageProfile {
                index,
                name: s.name_text(),
                op: s.op.name().to_owned(),
                shapes: format!("{} → {}", d(&s.input), d(&s.output)),
                ms,
                macs: stats.stages[index].macs,
                bytes: moved,
                share: if total > 0.0 { 100.0 * ms / total } else { 0.0 },
            }
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A self-contained HTML report (inline CSS and SVG, no network fetches): a bar per stage and
/// the stage table.
pub fn html_report(title: &str, backend: &str, stages: &[StageProfile]) -> String {
    let total_ms: f64 = stages.iter().map(|s| s.ms).sum();
    let total_macs: u64 = stages.iter().map(|s| s.macs).sum();
    let longest = stages.iter().map(|s| s.ms).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (row_h, label_w, bar_w) = (18, 330, 520);
    let height = row_h * stages.len() + 30;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" role="img" aria-label="time per stage">"#,
        w = label_w + bar_w + 120
    );
    for (i, s) in stages.iter().enumerate() {
        let y = i * row_h + 4;
        let width = (s.ms / longest * bar_w as f64).max(1.0);
        let hue = match s.op.as_str() {
            "convolution" | "depthwise_convolution" | "deconvolution" => 210,
            "fully_connected_layer" => 280,
            "max_pooling" | "average_pooling" => 30,
            _ => 140,
        };
        let name = escape(&s.name);
        let short: String = if name.chars().count() > 48 {
            format!("…{}", name.chars().rev().take(47).collect::<Vec<_>>().into_iter().rev().collect::<String>())
        } else {
            name.clone()
        };
        svg += &format!(
            r#"<text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{i} {short}</text><rect x="{label_w}" y="{y}" width="{width:.1}" height="{bh}" fill="hsl({hue},60%,55%)"><title>{name}: {ms:.3} ms, {share:.1} %</title></rect><text x="{vx:.1}" y="{ty}" font-size="11">{ms:.3} ms</text>"#,
            tx = label_w - 6,
            ty = y + 12,
            bh = row_h - 4,
            ms = s.ms,
            share = s.share,
            vx = label_w as f64 + width + 4.0,
        );
    }
    svg += "</svg>";
    let mut rows = String::new();
    for s in stages {
        rows += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.1}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td></tr>",
            s.index,
            escape(&s.name),
            escape(&s.op),
            escape(&s.shapes),
            s.ms,
            s.share,
            s.macs,
            s.gflops(),
            s.bytes,
            s.gbytes_per_s()
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — ncs profile</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }} .summary {{ margin-bottom: 16px; }}
table {{ border-collapse: collapse; font-size: 12px; margin-top: 16px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; }}
td:nth-child(2), td:nth-child(3), td:nth-child(4) {{ text-align: left; }}
th {{ background: #f0f0f0; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="summary">backend <b>{backend}</b> · {n} stages · {total_ms:.3} ms per inference · {gmacs:.3} GMAC · {gflops:.1} GFLOP/s overall</div>
{svg}
<table><thead><tr><th>#</th><th>stage</th><th>op</th><th>input → output</th><th>ms</th><th>%</th><th>MACs</th><th>GFLOP/s</th><th>bytes moved</th><th>GB/s</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>
"#,
        title = escape(title),
        backend = escape(backend),
        n = stages.len(),
        gmacs = total_macs as f64 / 1e9,
        gflops = if total_ms > 0.0 { 2.0 * total_macs as f64 / (total_ms * 1e6) } else { 0.0 },
    )
}
