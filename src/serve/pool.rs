//! The stick pool: one thread per [`Worker`] keeping all of its slots busy, fed from one
//! bounded queue.
//!
//! Admission is by [`Ticket`]: at most `capacity` requests hold one (they are waiting, for
//! preprocessing or for a stick); a request without one is refused (HTTP 503). A ticket is
//! given up when a stick takes the job, so memory stays bounded by capacity + slots.
//!
//! A worker that fails (any error from its stick) is taken out: the jobs it held go back to
//! the front of the queue, once each, marked to avoid it while another stick is ready; the
//! worker then recovers on its own thread (reset, boot, allocate) with a growing pause between
//! attempts, and takes jobs again when that succeeds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::status::{StickState, StickStatus};
use super::worker::Worker;

/// Pause before the first recovery attempt; doubled after each failed one.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest pause between recovery attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// During shutdown, how long a failed stick keeps trying to come back before its jobs are
/// given up (when no other stick is left to take them).
const SHUTDOWN_RECOVERY: Duration = Duration::from_secs(5);

/// A finished inference.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Output values as the stick returned them.
    pub output: Vec<f32>,
    /// The stick that answered.
    pub stick: String,
    /// From submission to the pool until a stick took the job (the last attempt).
    pub queue: Duration,
    /// From the stick taking the job until its result was collected.
    pub inference: Duration,
    /// True when a stick failed with this job and another answered it.
    pub retried: bool,
}

/// Why the pool could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Two sticks failed with this job (or one did and no other was left).
    #[error("inference failed: {0}")]
    Failed(String),
    /// The server is stopping and no stick is left to run the job.
    #[error("the server is shutting down and no stick is left")]
    ShuttingDown,
}

/// The reply to one job.
pub type Reply = Result<Answer, PoolError>;

/// A place in the bounded queue; released when a stick takes the job (or on drop).
pub struct Ticket {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket")
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Job {
    id: u64,
    input: Vec<f32>,
    reply: oneshot::Sender<Reply>,
    submitted: Instant,
    started: Instant,
    ticket: Option<Ticket>,
    /// Index of the worker that failed with it (it was retried).
    avoid: Option<usize>,
}

struct Queue {
    jobs: VecDeque<Job>,
    closing: bool,
    alive: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
    capacity: usize,
    waiting: AtomicUsize,
    next_id: AtomicU64,
    retried: AtomicU64,
    sticks: Vec<Mutex<StickStatus>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking worker must not take the whole pool with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn status(&self, index: usize) -> MutexGuard<'_, StickStatus> {
        locked(&self.sticks[index])
    }

    fn others_ready(&self, index: usize) -> bool {
        (0..self.sticks.len()).any(|i| i != index && self.status(i).state == StickState::Ready)
    }

    /// The next job worker `index` may take; waits when `block` (then `None` means the pool
    /// is closing and nothing is left for it).
    fn take(&self, index: usize, block: bool) -> Option<Job> {
        let mut queue = locked(&self.queue);
        loop {
            let free_choice = queue.closing || !self.others_ready(index);
            let at = queue.jobs.iter().position(|j| free_choice || j.avoid != Some(index));
            if let Some(at) = at {
                return queue.jobs.remove(at);
            }
            if !block || (queue.closing && queue.jobs.is_empty()) {
                return None;
            }
            // Timed: a job avoiding this worker becomes its own when the other sticks fail.
            queue = self
                .changed
                .wait_timeout(queue, Duration::from_millis(100))
                .map(|(q, _)| q)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    fn requeue_front(&self, jobs: impl DoubleEndedIterator<Item = Job>) {
        let mut queue = locked(&self.queue);
        for job in jobs.rev() {
            queue.jobs.push_front(job);
        }
        drop(queue);
        self.changed.notify_all();
    }

    /// Pauses a recovering worker; returns early when the pool starts closing.
    fn pause(&self, pause: Duration) {
        let queue = locked(&self.queue);
        if !queue.closing {
            drop(self.changed.wait_timeout(queue, pause));
        }
    }

    fn closing(&self) -> bool {
        locked(&self.queue).closing
    }
}

/// The pool of sticks and its queue.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("sticks", &self.shared.sticks.len())
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

impl Pool {
    /// Starts one thread per worker. `capacity` bounds the requests waiting at once.
    pub fn start(workers: Vec<Box<dyn Worker>>, capacity: usize) -> Pool {
        let sticks = workers.iter().map(|w| Mutex::new(StickStatus::new(w.name(), w.kind(), w.slots()))).collect();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { jobs: VecDeque::new(), closing: false, alive: workers.len() }),
            changed: Condvar::new(),
            capacity,
            waiting: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            retried: AtomicU64::new(0),
            sticks,
        });
        let threads = workers
            .into_iter()
            .enumerate()
            .map(|(index, worker)| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("ncs-stick-{index}"))
                    .spawn(move || run_worker(&shared, index, worker))
                    .expect("spawn a stick thread")
            })
            .collect();
        Pool { shared, threads: Mutex::new(threads) }
    }

    /// A place in the queue, or `None` when it is full.
    pub fn admit(&self) -> Option<Ticket> {
        let admitted = self
            .shared
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.shared.capacity).then_some(n + 1))
            .is_ok();
        admitted.then(|| Ticket { shared: Arc::clone(&self.shared) })
    }

    /// Queues an inference; the answer arrives on the returned channel.
    pub fn submit(&self, ticket: Ticket, input: Vec<f32>) -> oneshot::Receiver<Reply> {
        let (reply, answer) = oneshot::channel();
        let now = Instant::now();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let job = Job { id, input, reply, submitted: now, started: now, ticket: Some(ticket), avoid: None };
        let mut queue = locked(&self.shared.queue);
        if queue.alive == 0 {
            drop(queue);
            let _ = job.reply.send(Err(PoolError::ShuttingDown));
        } else {
            queue.jobs.push_back(job);
            drop(queue);
            self.shared.changed.notify_all();
        }
        answer
    }

    /// Requests holding a ticket (waiting for preprocessing or a stick).
    pub fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::Acquire)
    }

    /// The queue's bound.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Jobs given a second try after a stick failed.
    pub fn retried(&self) -> u64 {
        self.shared.retried.load(Ordering::Relaxed)
    }

    /// Each stick's state and counters.
    pub fn sticks(&self) -> Vec<StickStatus> {
        (0..self.shared.sticks.len()).map(|i| self.shared.status(i).clone()).collect()
    }

    /// Finishes every queued and in-flight job, then closes the sticks and joins their threads.
    pub fn shutdown(&self) {
        locked(&self.shared.queue).closing = true;
        self.shared.changed.notify_all();
        let threads = std::mem::take(&mut *locked(&self.threads));
        for thread in threads {
            if thread.join().is_err() {
                log::error!("a stick thread panicked");
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_worker(shared: &Shared, index: usize, mut worker: Box<dyn Worker>) {
    let slots = worker.slots().max(1);
    let mut in_flight: VecDeque<Job> = VecDeque::with_capacity(slots);
    'serve: loop {
        while in_flight.len() < slots {
            let Some(mut job) = shared.take(index, in_flight.is_empty()) else { break };
            job.ticket = None;
            job.started = Instant::now();
            let submitted = worker.submit(&job.input, job.id);
            in_flight.push_back(job);
            shared.status(index).in_flight = in_flight.len();
            if let Err(e) = submitted {
                if !fail_and_recover(shared, index, worker.as_mut(), &mut in_flight, &e.to_string()) {
                    break 'serve;
                }
                continue 'serve;
            }
        }
        let Some(oldest) = in_flight.front() else { break };
        let expected = oldest.id;
        let failure = match worker.collect() {
            Ok(c) if c.tag == expected => {
                let job = in_flight.pop_front().expect("checked non-empty");
                let mut status = shared.status(index);
                status.in_flight = in_flight.len();
                status.record_result(worker.telemetry().as_ref());
                drop(status);
                let answer = Answer {
                    output: c.output,
                    stick: worker.name(),
                    queue: job.started - job.submitted,
                    inference: job.started.elapsed(),
                    retried: job.avoid.is_some(),
                };
                let _ = job.reply.send(Ok(answer));
                continue;
            }
            Ok(c) => format!("result for job {} arrived while job {expected} was expected", c.tag),
            Err(e) => e.to_string(),
        };
        if !fail_and_recover(shared, index, worker.as_mut(), &mut in_flight, &failure) {
            break;
        }
    }
    if let Err(e) = worker.close() {
        log::warn!("{}: close: {e}", worker.name());
    }
    shared.status(index).state = StickState::Closed;
    let mut queue = locked(&shared.queue);
    queue.alive -= 1;
    if queue.alive == 0 {
        // Nobody is left to run what is still queued: answer it rather than leave it waiting.
        for job in queue.jobs.drain(..) {
            let _ = job.reply.send(Err(PoolError::ShuttingDown));
        }
    }
    drop(queue);
    shared.changed.notify_all();
}

/// Takes a failed worker out, re-queues (once) what it held, and recovers it. Returns false
/// when the pool is closing and the stick did not come back.
fn fail_and_recover(
    shared: &Shared,
    index: usize,
    worker: &mut dyn Worker,
    in_flight: &mut VecDeque<Job>,
    error: &str,
) -> bool {
    let name = worker.name();
    log::warn!("{name}: taken out of the pool: {error}");
    shared.status(index).record_failure(error);
    let mut retry = Vec::with_capacity(in_flight.len());
    for mut job in in_flight.drain(..) {
        if job.avoid.is_none() {
            job.avoid = Some(index);
            shared.retried.fetch_add(1, Ordering::Relaxed);
            retry.push(job);
        } else {
            let _ = job.reply.send(Err(PoolError::Failed(format!("{name}: {error} (a second stick failed with it)"))));
        }
    }
    shared.requeue_front(retry.into_iter());
    let mut pause = FIRST_BACKOFF;
    let mut closing_since: Option<Instant> = None;
    loop {
        match worker.recover() {
            Ok(()) => {
                log::info!("{name}: recovered, back in the pool");
                shared.status(index).record_recovery();
                shared.changed.notify_all();
                return true;
            }
            Err(e) => {
                log::info!("{name}: recovery failed ({e}); retrying in {pause:?}");
                shared.status(index).recovery_error = Some(e.to_string());
            }
        }
        if shared.closing() {
            let since = *closing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= SHUTDOWN_RECOVERY {
                return false;
            }
        }
        shared.pause(pause);
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}
