//! The stick pool with scripted workers: the queue bound, retry on another stick, recovery,
//! and a clean shutdown — deterministic, no HTTP, no timing assumptions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ncs::device::Telemetry;
use ncs::serve::{Collected, Pool, PoolError, StickState, Worker};
use ncs::{Error, Result};

/// What a scripted worker does, shared with the test.
#[derive(Default)]
struct Script {
    /// Collects that fail from now on (counted down).
    fail_collects: AtomicUsize,
    /// Recovery attempts that fail from now on (counted down).
    fail_recoveries: AtomicUsize,
    /// Recovery attempts made.
    recoveries: AtomicUsize,
    /// Held while a collect must wait (a stick busy computing).
    gate: Mutex<()>,
    closed: AtomicUsize,
}

/// A worker whose "stick" doubles its input, with two slots like a real one.
struct Scripted {
    name: String,
    script: Arc<Script>,
    queued: std::collections::VecDeque<(Vec<f32>, u64)>,
}

impl Worker for Scripted {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn kind(&self) -> &'static str {
        "scripted"
    }
    fn slots(&self) -> usize {
        2
    }
    fn submit(&mut self, input: &[f32], tag: u64) -> Result<()> {
        assert!(self.queued.len() < 2, "the pool never queues more than the slots");
        self.queued.push_back((input.to_vec(), tag));
        Ok(())
    }
    fn collect(&mut self) -> Result<Collected> {
        drop(self.script.gate.lock().unwrap());
        let (input, tag) = self.queued.pop_front().expect("collect after submit");
        let failing = self.script.fail_collects.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Error::BackendFault { backend: self.name.clone(), message: "device disconnected".into() });
        }
        Ok(Collected { output: input.iter().map(|v| v * 2.0).collect(), tag })
    }
    fn telemetry(&self) -> Option<Telemetry> {
        Some(Telemetry { thermal: vec![41.0, 43.5], throttling: 1, ..Telemetry::default() })
    }
    fn recover(&mut self) -> Result<()> {
        self.script.recoveries.fetch_add(1, Ordering::SeqCst);
        self.queued.clear();
        let failing =
            self.script.fail_recoveries.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Error::BackendFault { backend: self.name.clone(), message: "not back yet".into() });
        }
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        self.script.closed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn pool(scripts: &[Arc<Script>], capacity: usize) -> Pool {
    let workers: Vec<Box<dyn Worker>> = scripts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Box::new(Scripted { name: format!("s{i}"), script: Arc::clone(s), queued: Default::default() })
                as Box<dyn Worker>
        })
        .collect();
    Pool::start(workers, capacity)
}

fn ask(pool: &Pool, value: f32) -> tokio::sync::oneshot::Receiver<Result<ncs::serve::Answer, PoolError>> {
    let ticket = pool.admit().expect("a place in the queue");
    pool.submit(ticket, vec![value, value + 1.0])
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_queue_is_bounded_and_places_free_up_when_a_stick_takes_the_job() {
    let script = Arc::new(Script::default());
    let pool = pool(&[Arc::clone(&script)], 3);
    let gate = script.gate.lock().unwrap(); // the stick is busy: nothing completes
    let replies: Vec<_> = (0..3).map(|i| ask(&pool, i as f32)).collect();
    // The stick takes two (its slots); their places free up, so two more fit, then no more.
    wait_until("the stick holds two", || pool.sticks()[0].in_flight == 2);
    assert_eq!(pool.waiting(), 1);
    let more: Vec<_> = (3..5).map(|i| ask(&pool, i as f32)).collect();
    assert_eq!(pool.waiting(), 3);
    assert!(pool.admit().is_none(), "a fourth waiting request is refused");
    drop(gate);
    for (i, reply) in replies.into_iter().chain(more).enumerate() {
        let answer = reply.blocking_recv().unwrap().unwrap();
        assert_eq!(answer.output, vec![2.0 * i as f32, 2.0 * i as f32 + 2.0], "answers stay with their requests");
        assert_eq!(answer.stick, "s0");
        assert!(!answer.retried);
    }
    assert_eq!(pool.waiting(), 0);
    let status = &pool.sticks()[0];
    assert_eq!((status.inferences, status.temperature_c, status.throttling), (5, Some(43.5), Some(1)));
}

#[test]
fn a_failed_stick_hands_its_jobs_to_another_and_comes_back() {
    let (a, b) = (Arc::new(Script::default()), Arc::new(Script::default()));
    let pool = pool(&[Arc::clone(&a), Arc::clone(&b)], 64);
    a.fail_collects.store(1, Ordering::SeqCst);
    a.fail_recoveries.store(2, Ordering::SeqCst); // comes back at the third attempt
    let gate_b = b.gate.lock().unwrap();
    let replies: Vec<_> = (0..20).map(|i| ask(&pool, i as f32)).collect();
    // s1 is held until s0 has taken jobs and failed with them (else, on a busy machine, s1
    // could answer all twenty before s0's thread ever runs).
    wait_until("s0 fails", || pool.sticks()[0].failures == 1);
    drop(gate_b);
    for (i, reply) in replies.into_iter().enumerate() {
        let answer = reply.blocking_recv().unwrap().expect("no request is lost");
        assert_eq!(answer.output[0], 2.0 * i as f32);
        if answer.retried {
            assert_eq!(answer.stick, "s1", "a retried job avoids the stick that failed with it");
        }
    }
    assert!(pool.retried() >= 1);
    wait_until("s0 is back", || pool.sticks()[0].state == StickState::Ready && pool.sticks()[0].recoveries == 1);
    assert_eq!(a.recoveries.load(Ordering::SeqCst), 3);
    let s0 = &pool.sticks()[0];
    assert_eq!((s0.failures, s0.recoveries), (1, 1));
    assert!(s0.last_error.as_deref().unwrap().contains("device disconnected"));
    assert_eq!(s0.recovery_error, None, "cleared once back");
    // Back in the pool: s0 answers again once s1 is busy.
    let gate_b = b.gate.lock().unwrap();
    let replies: Vec<_> = (0..6).map(|i| ask(&pool, i as f32)).collect();
    wait_until("s0 takes work", || pool.sticks()[0].inferences > 0);
    drop(gate_b);
    for reply in replies {
        reply.blocking_recv().unwrap().unwrap();
    }
}

#[test]
fn a_job_that_fails_on_two_sticks_is_answered_with_the_error() {
    let (a, b) = (Arc::new(Script::default()), Arc::new(Script::default()));
    a.fail_collects.store(1000, Ordering::SeqCst);
    b.fail_collects.store(1000, Ordering::SeqCst);
    let pool = pool(&[a, b], 8);
    let reply = ask(&pool, 1.0).blocking_recv().unwrap();
    match reply {
        Err(PoolError::Failed(message)) => assert!(message.contains("a second stick failed"), "{message}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn shutdown_finishes_queued_work_then_closes_every_stick() {
    let (a, b) = (Arc::new(Script::default()), Arc::new(Script::default()));
    let pool = pool(&[Arc::clone(&a), Arc::clone(&b)], 64);
    let gate = a.gate.lock().unwrap();
    let replies: Vec<_> = (0..30).map(|i| ask(&pool, i as f32)).collect();
    let stopper = std::thread::spawn(move || {
        pool.shutdown();
        pool
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(gate);
    let pool = stopper.join().unwrap();
    for reply in replies {
        reply.blocking_recv().unwrap().expect("queued work is finished before closing");
    }
    assert_eq!(a.closed.load(Ordering::SeqCst) + b.closed.load(Ordering::SeqCst), 2);
    assert!(pool.sticks().iter().all(|s| s.state == StickState::Closed));
    // After shutdown nothing is accepted silently.
    let late = ask(&pool, 0.0).blocking_recv().unwrap();
    assert_eq!(late.unwrap_err(), PoolError::ShuttingDown);
}
