//! `ncs serve`: an image classifier over HTTP, on a pool of sticks.
//!
//! ```text
//! HTTP (axum) ──admit (bounded queue, 503)──▶ body (413) ──preprocess (400)──▶ Pool ──▶ Worker × N
//!                                                                          ◀── answer ─┘ (retry once on failure)
//! ```
//!
//! - [`worker`]: the [`Worker`] trait over one stick ([`StickWorker`], native driver, two slots)
//!   or any backend ([`BackendWorker`], e.g. the CPU reference); [`open`]: a worker per stick;
//! - [`pool`]: one thread per worker, the bounded queue, failure handling and recovery;
//! - [`http`]: the routes (`POST /Inference`, `POST /v1/classify`, `GET /healthz`,
//!   `GET /metrics`, `GET /`); [`metrics`]: Prometheus text; [`page`]: the upload page.
//!
//! [`App`] holds the state; [`serve`] runs it on a listener until a shutdown future resolves,
//! then finishes in-flight requests and closes the sticks. [`Running`] does the same on a thread
//! of its own (tests, benchmarks).

pub mod body;
pub mod http;
pub mod metrics;
pub mod open;
pub mod page;
pub mod pool;
pub mod status;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::blob::GraphFile;
use crate::error::{Error, Result};
use crate::input::ImagePlan;
use crate::preprocess::{NetworkInput, Scheme};
pub use metrics::Metrics;
pub use open::open_workers;
pub use pool::{Answer, Pool, PoolError, Ticket};
pub use status::{StickState, StickStatus};
pub use worker::{BackendWorker, Collected, Opener, StickWorker, Worker};

/// The served graph: its name, digest and shapes.
#[derive(Debug, Clone)]
pub struct GraphInfo {
    /// Name shown in answers (the file name).
    pub name: String,
    /// sha256 of the file, lower-case hex.
    pub sha256: String,
    /// Network input `[rows, columns, channels]`.
    pub input_shape: [u32; 3],
    /// What the network input asks of an image (its H×W, channels, TensorFlow's H/W swap).
    pub network: NetworkInput,
    /// Network output `[rows, columns, channels]`.
    pub output_shape: [u32; 3],
}

impl GraphInfo {
    /// Describes a parsed graph; the digest is of its bytes (what the stick is sent, the same
    /// bytes as the file: every graph the parser accepts re-writes identically).
    pub fn of(name: &str, graph: &GraphFile) -> Self {
        let sha256 = Sha256::digest(graph.to_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let blob = graph.blob();
        GraphInfo {
            name: name.to_owned(),
            sha256,
            input_shape: blob.input_shape(),
            network: NetworkInput::of(blob),
            output_shape: blob.output_shape(),
        }
    }

    /// Number of output values (classes, for a classifier).
    pub fn classes(&self) -> usize {
        self.output_shape.iter().map(|&d| d as usize).product()
    }
}

/// How the server treats requests.
#[derive(Debug, Clone)]
pub struct Config {
    /// The graph being served.
    pub graph: GraphInfo,
    /// One label per output value.
    pub labels: Vec<String>,
    /// How images become network inputs.
    pub scheme: Scheme,
    /// Requests that may wait at once (for preprocessing or a stick); more get 503.
    pub queue: usize,
    /// Largest request body in bytes; larger gets 413.
    pub max_body: usize,
    /// When set, classification requests must carry it (`X-API-Key` or `Authorization: Bearer`).
    pub api_key: Option<String>,
    /// Longest a client may take to send a request's headers, and then its body; the
    /// connection is closed (headers) or answered 408 (body) after it. Bounds what a slow
    /// or silent client (slowloris) holds. [`CLIENT_TIMEOUT`] unless a test says otherwise.
    pub client_timeout: Duration,
}

/// The default [`Config::client_timeout`].
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait in the kernel's accept backlog until one closes.
pub const MAX_CONNECTIONS: usize = 1024;

impl Config {
    /// Checks the labels, the limits, and the network input against what images can feed.
    pub fn validate(&self) -> Result<()> {
        self.plan()?;
        if self.labels.len() != self.graph.classes() {
            return Err(Error::Usage(format!(
                "{} labels for the {} outputs of {}",
                self.labels.len(),
                self.graph.classes(),
                self.graph.name
            )));
        }
        if self.queue == 0 || self.max_body == 0 {
            return Err(Error::Usage("--queue and --max-body must be at least 1".into()));
        }
        if self.client_timeout.is_zero() {
            return Err(Error::Usage("the client timeout must be longer than zero".into()));
        }
        Ok(())
    }

    /// How uploads become the network input: [`scheme`](Self::scheme) at the network's own H×W
    /// (`ncs::input`, as `ncs run` and `ncs classify` prepare images).
    pub fn plan(&self) -> Result<ImagePlan> {
        ImagePlan::for_network(&self.graph.network, Some(self.scheme), None)
            .map_err(|e| Error::Usage(format!("{}: {e}", self.graph.name)))
    }
}

/// Everything the routes share.
#[derive(Debug)]
pub struct App {
    /// Settings.
    pub config: Config,
    /// The sticks.
    pub pool: Pool,
    /// Counters.
    pub metrics: Metrics,
    /// How each upload becomes the network input.
    pub plan: ImagePlan,
    /// Bounds concurrent decoding (a decoded image can be large): one per core.
    preprocess_slots: tokio::sync::Semaphore,
    started: Instant,
}

impl App {
    /// Validates `config` and starts the pool over `workers`.
    pub fn new(config: Config, workers: Vec<Box<dyn Worker>>) -> Result<Arc<App>> {
        config.validate()?;
        let plan = config.plan()?;
        if workers.is_empty() {
            return Err(Error::Usage("no sticks to serve with".into()));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = Pool::start(workers, config.queue);
        Ok(Arc::new(App {
            config,
            pool,
            metrics: Metrics::default(),
            plan,
            preprocess_slots: tokio::sync::Semaphore::new(cores),
            started: Instant::now(),
        }))
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, answers every
/// request already received, and closes the sticks.
///
/// The accept loop is ours (over hyper) rather than `axum::serve`, which sets no timer and so
/// no header timeout: a client that opens a connection and sends nothing, or a header a byte
/// at a time, would hold it (and a graceful shutdown) forever. Here headers must arrive within
/// [`Config::client_timeout`] and at most [`MAX_CONNECTIONS`] are open at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = http::router(Arc::clone(&app));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&open).acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    log::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Answers are small and sent whole: no point waiting to coalesce them.
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(app.config.client_timeout)
            .serve_connection(
                hyper_util::rt::TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out is its own business; nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    tokio::task::spawn_blocking(move || app.pool.shutdown()).await.map_err(std::io::Error::other)
}

/// A server on a thread of its own (its own tokio runtime), for tests and benchmarks.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The shared state (pool, metrics).
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Binds `addr` (port 0 picks a free one) and serves `app` there.
    pub fn start(app: Arc<App>, addr: SocketAddr) -> Result<Running> {
        let runtime = runtime()?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| Error::Usage(format!("{addr}: {e}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name("ncs-serve".into())
            .spawn(move || {
                runtime.block_on(serve(listener, served, async move {
                    let _ = stopped.await;
                }))
            })
            .map_err(|e| Error::Usage(format!("cannot start the server thread: {e}")))?;
        Ok(Running { addr, app, stop: Some(stop), thread: Some(thread) })
    }

    /// Shuts down gracefully (as on SIGTERM) and waits until the sticks are closed.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| std::io::Error::other("the server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The runtime `ncs serve` runs on: a few threads for HTTP (inference runs on the stick
/// threads, decoding on blocking threads).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(1, 4))
        .thread_name("ncs-http")
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}
