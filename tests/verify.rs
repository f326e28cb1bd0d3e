//! verify: metrics, and bisection finding a deliberately miscomputed stage on a software stick.

mod common;

use ncs::backend::{Backend, Stick};
use ncs::blob::{Blob, GraphFile};
use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::{Firmware, OpenOptions};
use ncs::verify::{bisect, Criteria};

fn faulty_stick(miscompute: usize) -> impl FnMut(&GraphFile) -> ncs::Result<Box<dyn Backend + Send>> {
    move |graph: &GraphFile| {
        let bus = SoftBus::new(1);
        bus.stick(0).unwrap().set_miscompute(Some(miscompute));
        let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "fw").unwrap();
        Ok(Box::new(Stick::open("emulator", &bus, &firmware, graph, &OpenOptions::default())?)
            as Box<dyn Backend + Send>)
    }
}

#[test]
fn bisection_finds_the_miscomputed_stage() {
    let blob = Blob::read(&common::own_graphs().join("inception_block.graph")).unwrap();
    let input = ncs::graph::samples::Weights::new(3).uniform(9 * 9 * 4, 1.0);
    // Every weighted stage in turn: the bisection names exactly that stage.
    for stage in [0, 2, 4, 6, 7] {
        let found = bisect(&blob, &input, &Criteria::default(), &mut faulty_stick(stage)).unwrap();
        let d = found.unwrap_or_else(|| panic!("stage {stage}: no divergence found"));
        assert_eq!(d.stage, stage, "miscomputed {stage}, bisection said {} '{}'", d.stage, d.name);
        assert!(!d.comparison.pass);
        assert_eq!(
            d.probes,
            [8].into_iter().chain(1..=stage + 1).collect::<Vec<_>>(),
            "whole graph, then prefixes in order"
        );
    }
    // A healthy stick passes without bisecting.
    let healthy = bisect(&blob, &input, &Criteria::default(), &mut faulty_stick(usize::MAX)).unwrap();
    assert!(healthy.is_none());
}

#[test]
fn cli_exit_codes_and_bisection_report() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let verify = |extra: &[&str], miscompute: Option<&str>| {
        let mut cmd = common::ncs_command(&[
            "verify",
            graph.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--backend",
            "emulator",
        ]);
        cmd.args(extra);
        if let Some(stage) = miscompute {
            cmd.env("NCS_EMULATOR_MISCOMPUTE", stage);
        }
        cmd.output().unwrap()
    };
    let ok = verify(&[], None);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    let bad = verify(&["--bisect"], Some("2"));
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("FAIL") && text.contains("first divergent stage: 2 'conv2/Relu6'"), "{text}");
    let json = verify(&["--bisect", "--json"], Some("0"));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["pass"], false);
    assert_eq!(v["first_divergent_stage"]["stage"], 0);
    // Loosened criteria turn the same difference into a pass.
    let loose = verify(
        &["--max-error", "100", "--mean-error", "100", "--l2-error", "100", "--value-threshold", "100"],
        Some("2"),
    );
    assert_eq!(loose.status.code(), Some(0));
    // Out-of-range criteria reach the range check (`=` so that clap takes -3 as a value).
    for bad in ["--max-error=-3", "--max-error=500", "--beyond=101"] {
        let out = verify(&[bad], None);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad.split('=').next().unwrap()) && err.contains("0..=100"), "{bad}: {err}");
    }
}
