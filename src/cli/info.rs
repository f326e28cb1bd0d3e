//! `ncs info GRAPH [--json]`: what a graph file holds, stage by stage.

use std::path::Path;

use ncs::blob::{Blob, MemoryLayout, PadStyle, PostOp, Stage, StageType, Tensor};
use ncs::graph::{GraphStats, StageStats};
use serde_json::{json, Value};

use super::table::{Align, Table};
use super::{grouped, Outcome};

/// Widest stage name shown in the table before it is shortened.
const NAME_WIDTH: usize = 36;

pub fn run(path: &Path, json: bool) -> ncs::Result<Outcome> {
    let blob = Blob::read(path)?;
    let layout = blob.layout().map_err(|source| ncs::Error::Blob { path: Some(path.to_owned()), source })?;
    let stats = GraphStats::of(&blob);
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if json {
        let mut doc = to_json(&blob, &layout, &stats, file_bytes);
        doc["graph"] = json!(path.display().to_string());
        outln!("{doc}");
    } else {
        out!("{}", to_text(path, &blob, &layout, &stats, file_bytes));
    }
    Ok(Outcome::Success)
}

pub(super) fn to_text(path: &Path, blob: &Blob, layout: &MemoryLayout, stats: &GraphStats, file_bytes: u64) -> String {
    let h = &blob.header;
    let mut out = String::new();
    let input = blob.input_shape();
    let output = blob.output_shape();
    out += &format!("graph    {} ({} bytes)\n", path.display(), grouped(file_bytes));
    out += &format!(
        "network  \"{}\", blob version 2, {} stages, SHAVEs {}..{} ({})\n",
        h.name,
        blob.stages.len(),
        h.first_shave,
        h.last_shave,
        h.shave_count()
    );
    out += &format!("input    {input:?} fp16 HWC ({} bytes)\n", grouped(layout.input_bytes));
    out += &format!("output   {output:?} ({} values)\n\n", grouped(layout.output_elements));

    let mut table = Table::new(vec![
        ("#", Align::Right),
        ("name", Align::Left),
        ("op", Align::Left),
        ("kernel", Align::Left),
        ("stride", Align::Left),
        ("pad", Align::Left),
        ("input", Align::Right),
        ("", Align::Left),
        ("output", Align::Left),
        ("reads", Align::Left),
        ("writes", Align::Left),
        ("post", Align::Left),
        ("weights", Align::Right),
        ("MACs", Align::Right),
    ]);
    for (index, (stage, st)) in blob.stages.iter().zip(&stats.stages).enumerate() {
        table.push(vec![
            index.to_string(),
            shorten(&stage.name_text(), NAME_WIDTH),
            op_label(stage.op),
            format!("{}x{}", stage.kernel_y, stage.kernel_x),
            format!("{}x{}", stage.stride_y, stage.stride_x),
            pad_label(stage),
            dims_label(&stage.input),
            "->".into(),
            dims_label(&stage.output),
            place(&stage.input),
            place(&stage.output),
            post_label(stage),
            grouped(st.weight_bytes),
            grouped(st.macs),
        ]);
    }
    out += &table.render();
    if blob.stages.iter().any(|s| s.op.is_version_dependent()) {
        out += "* op numbers of 28 and above follow NCSDK 1.12; older toolkits numbered them differently\n";
    }
    out += &format!(
        "\ntotals   {} stages, {} parameters, {} MACs, {} weight bytes, work area {} bytes\n",
        blob.stages.len(),
        grouped(stats.parameters),
        grouped(stats.macs),
        grouped(stats.weight_bytes),
        grouped(layout.work_bytes)
    );
    out
}

fn to_json(blob: &Blob, layout: &MemoryLayout, stats: &GraphStats, file_bytes: u64) -> Value {
    let stages: Vec<Value> =
        blob.stages.iter().zip(&stats.stages).enumerate().map(|(i, (s, st))| stage_json(i, s, st)).collect();
    json!({
        "name": blob.header.name.text(),
        "version": 2,
        "file_bytes": file_bytes,
        "stage_count": blob.stages.len(),
        "shaves": { "first": blob.header.first_shave, "last": blob.header.last_shave },
        "input_shape": blob.input_shape(),
        "output_shape": blob.output_shape(),
        "output_elements": layout.output_elements,
        "macs": stats.macs,
        "parameters": stats.parameters,
        "weight_bytes": stats.weight_bytes,
        "arena_bytes": {
            "input": layout.input_bytes,
            "output": layout.output_bytes,
            "blob": layout.blob_bytes,
            "work": layout.work_bytes,
        },
        "work_area_bytes": layout.work_bytes,
        "stages": stages,
    })
}

fn stage_json(index: usize, s: &Stage, st: &StageStats) -> Value {
    let tensor = |t: &Tensor| {
        json!({
            "location": t.location.to_string(),
            "pointer": t.pointer,
            "dims": t.dims.shape_yxz(),
            "strides": [t.strides.y, t.strides.x, t.strides.z],
        })
    };
    let buffer =
        |location: ncs::blob::Location, pointer: u32| json!({ "location": location.to_string(), "pointer": pointer });
    json!({
        "index": index,
        "name": s.name.text(),
        "op": s.op.name(),
        "op_code": s.op.to_u8(),
        "op_version_dependent": s.op.is_version_dependent(),
        "kernel": [s.kernel_y, s.kernel_x],
        "stride": [s.stride_y, s.stride_x],
        "pad": [s.pad_y, s.pad_x],
        "pad_style": s.pad_style.name(),
        "input": tensor(&s.input),
        "output": tensor(&s.output),
        "taps": buffer(s.taps.location, s.taps.pointer),
        "bias": buffer(s.bias.location, s.bias.pointer),
        "op_params": buffer(s.op_params.location, s.op_params.pointer),
        "post_op": s.post_op.name(),
        "post_param": post_param_value(s),
        "opt_mask": s.opt_mask,
        "weight_bytes": st.weight_bytes,
        "parameters": st.parameters,
        "macs": st.macs,
    })
}

fn post_param_value(s: &Stage) -> Value {
    match s.post_op {
        PostOp::ReluX | PostOp::LeakyRelu | PostOp::Elu => json!(s.post_param_f32()),
        _ => Value::Null,
    }
}

fn op_label(op: StageType) -> String {
    if op.is_version_dependent() {
        format!("{}*", op.name())
    } else {
        op.name().to_owned()
    }
}

fn pad_label(s: &Stage) -> String {
    match s.pad_style {
        PadStyle::Caffe => format!("caffe {},{}", s.pad_y, s.pad_x),
        style => style.name().to_owned(),
    }
}

fn post_label(s: &Stage) -> String {
    match s.post_op {
        PostOp::None => "-".into(),
        PostOp::ReluX | PostOp::LeakyRelu | PostOp::Elu => format!("{}({})", s.post_op, s.post_param_f32()),
        other => other.name().to_owned(),
    }
}

fn dims_label(t: &Tensor) -> String {
    format!("{}x{}x{}", t.dims.y, t.dims.x, t.dims.z)
}

fn place(t: &Tensor) -> String {
    format!("{}@{}", t.location, t.pointer)
}

fn shorten(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_owned();
    }
    // Keep the tail: TF names are paths whose end says most.
    let tail: String = name.chars().rev().take(width - 1).collect::<Vec<_>>().into_iter().rev().collect();
    format!("…{tail}")
}
