//! `ncs serve` when things go wrong, with real HTTP clients on software sticks: a stick pulled
//! out mid-load, a stick that stops answering, no usable stick at all, and SIGTERM under load
//! (the real binary).

mod common;
#[path = "common/http.rs"]
mod http;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{
    agent, check_answer, classify_with_the_cli, digit_pngs, get, load, post_raw, try_post_raw, wait_until, Setup,
};
use ncs::device::emulator::{Fault, FaultKind, Step};
use ncs::device::wire::Buffer;
use ncs::preprocess::Scheme;
use ncs::serve::StickState;

fn mnist() -> PathBuf {
    common::shared_graphs().join("hsinm_mnist.graph")
}

/// Expected top-3 from the CPU reference for every digit, through the library (as the CLI).
fn expected_digits() -> HashMap<String, Vec<(u64, f64)>> {
    classify_with_the_cli(&mnist(), &digit_pngs())
}

#[test]
fn a_stick_that_disconnects_mid_load_loses_no_request_and_comes_back() {
    let expected = expected_digits();
    let graph = mnist();
    let setup = Setup { latency: Duration::from_millis(3), ..Setup::new(&graph, 10, Scheme::Plain) };
    let (server, bus) = setup.start();
    let base = format!("http://{}", server.addr);
    let app = Arc::clone(&server.app);
    let clients = {
        let (base, expected) = (base.clone(), expected.clone());
        std::thread::spawn(move || load(&base, 8, 240, &expected))
    };
    wait_until("40 answers", Duration::from_secs(60), || {
        app.pool.sticks().iter().map(|s| s.inferences).sum::<u64>() >= 40
    });
    // Pulled out while collecting a result: that inference and the one behind it are lost on
    // the stick and must be answered by the other.
    let stick = bus.stick(0).unwrap();
    stick.inject(Fault { step: Step::Get(Buffer::Output), kind: FaultKind::Disconnect });
    wait_until("stick 1-1 out", Duration::from_secs(30), || app.pool.sticks()[0].state == StickState::Recovering);
    let health = get(&agent(), &format!("{base}/healthz")).json();
    assert_eq!(health["status"], "ok", "the other stick still serves");
    assert_eq!(health["sticks"][0]["state"], "recovering");
    std::thread::sleep(Duration::from_millis(200));
    stick.replug();
    wait_until("stick 1-1 back", Duration::from_secs(30), || app.pool.sticks()[0].state == StickState::Ready);
    clients.join().expect("every request answered, correctly");
    let s0 = app.pool.sticks()[0].clone();
    assert_eq!((s0.failures, s0.recoveries), (1, 1), "{s0:?}");
    assert!(s0.last_error.unwrap().contains("disconnected"));
    assert!(app.pool.retried() >= 1);
    // Back in service: it answers again.
    load(&base, 8, 80, &expected);
    assert!(app.pool.sticks()[0].inferences > s0.inferences, "the recovered stick serves again");
    server.stop().unwrap();
}

#[test]
fn a_stick_that_stops_answering_is_reset_and_rebooted_by_the_server() {
    let expected = expected_digits();
    let (server, bus) = Setup::new(&mnist(), 10, Scheme::Plain).start();
    let base = format!("http://{}", server.addr);
    // The stick will not answer its next auxBuffer read: only a reset and reboot bring it back.
    bus.stick(1).unwrap().inject(Fault { step: Step::Get(Buffer::AuxBuffer), kind: FaultKind::Timeout });
    load(&base, 8, 120, &expected);
    let app = &server.app;
    wait_until("stick 1-2 back", Duration::from_secs(30), || app.pool.sticks()[1].recoveries == 1);
    let s1 = &app.pool.sticks()[1];
    assert_eq!((s1.state, s1.failures), (StickState::Ready, 1));
    assert!(s1.last_error.as_deref().unwrap().contains("timed out"), "{s1:?}");
    server.stop().unwrap();
}

#[test]
fn healthz_is_503_while_no_stick_is_usable_and_the_waiting_request_is_answered_after_recovery() {
    let (server, bus) = Setup { sticks: 1, ..Setup::new(&mnist(), 10, Scheme::Plain) }.start();
    let base = format!("http://{}", server.addr);
    bus.stick(0).unwrap().inject(Fault { step: Step::Get(Buffer::Output), kind: FaultKind::Disconnect });
    let png = digit_pngs()[5].1.clone();
    let url = format!("{base}/v1/classify");
    let request = std::thread::spawn(move || post_raw(&agent(), &url, &png));
    let app = Arc::clone(&server.app);
    wait_until("the only stick out", Duration::from_secs(30), || app.pool.sticks()[0].state == StickState::Recovering);
    let health = get(&agent(), &format!("{base}/healthz"));
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "unavailable");
    bus.stick(0).unwrap().replug();
    let reply = request.join().unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["retried"], true);
    assert_eq!(get(&agent(), &format!("{base}/healthz")).status, 200);
    server.stop().unwrap();
}

/// Starts the real binary; returns it and its base URL (read from its first line).
fn spawn_ncs_serve(
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String, BufReader<std::process::ChildStdout>) {
    let dir = std::env::temp_dir().join(format!("ncs-serve-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, "classes\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ncs"))
        .args(["serve", mnist().to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--preprocess", "plain"])
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .env_remove("NCS_TRACE_USB")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{first}"));
    (child, url.to_owned(), stdout)
}

#[test]
fn sigterm_under_load_finishes_the_requests_in_flight() {
    let expected = Arc::new(expected_digits());
    let (mut child, base, mut stdout) = spawn_ncs_serve(
        &["--emulate", "2", "--queue", "64"],
        &[("NCS_EMULATE_PROFILE", "usb2,absence=50ms,linger=20ms,latency=0ms")],
    );
    let started = Instant::now();
    let digits = Arc::new(digit_pngs());
    // Each client: requests back to back until the server is gone; (sent at, done at, result).
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (base, digits, expected) = (base.clone(), Arc::clone(&digits), Arc::clone(&expected));
            std::thread::spawn(move || {
                let agent = agent();
                let mut log = Vec::new();
                for i in (c..).step_by(8) {
                    let (stem, png) = &digits[i % digits.len()];
                    let sent = started.elapsed();
                    let result = try_post_raw(&agent, &format!("{base}/v1/classify?top=3"), png, None);
                    let ok = result.as_ref().is_ok_and(|r| {
                        check_answer("/v1/classify", r, &expected[stem]);
                        true
                    });
                    log.push((sent, started.elapsed(), ok, result.err().map(|e| e.to_string())));
                    if !ok {
                        return log;
                    }
                }
                unreachable!()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1200));
    let signalled = started.elapsed();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let logs: Vec<_> = clients.into_iter().map(|c| c.join().expect("answers stay correct")).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "ncs serve exits 0 after SIGTERM: {status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("shutting down") && rest.contains("sticks closed"), "{rest}");
    // Requests sent well before the signal (so in flight at it) were all answered, including
    // some that finished after it; the only failures are refused connections after it.
    let in_flight_at_signal =
        logs.iter().flatten().filter(|(sent, done, ok, _)| *ok && *sent < signalled && *done > signalled).count();
    assert!(in_flight_at_signal >= 1, "some requests were in flight at SIGTERM and completed: {logs:?}");
    for (sent, _, ok, error) in logs.iter().flatten() {
        if !ok {
            assert!(*sent + Duration::from_millis(100) > signalled, "a request sent before SIGTERM failed: {error:?}");
        }
    }
    assert!(logs.iter().flatten().filter(|l| l.2).count() >= 16, "the load ran: {logs:?}");
}
