//! `ncs serve GRAPH --labels FILE [...]`: open the sticks, then serve until SIGTERM / Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ncs::backend::{firmware_for, open_bus_with, BackendKind, BackendOptions};
use ncs::blob::GraphFile;
use ncs::device::{Bus, OpenOptions};
use ncs::labels::Labels;
use ncs::serve::{App, BackendWorker, Config, GraphInfo, StickWorker, Worker};
use ncs::{Error, Result};

use super::backend::{Backend, BackendArgs, PrecisionArg};
use super::input::SchemeArg;
use super::Outcome;

/// Options of `ncs serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The graph file (a classifier: one output per label).
    pub graph: PathBuf,
    /// Class names, one per line (a line reading `classes` is skipped, as NCSDK apps did).
    #[arg(long)]
    pub labels: PathBuf,
    /// How an uploaded image becomes the network input (`ncsdk` is what NCSDK-era apps did).
    #[arg(long, value_enum, default_value_t = SchemeArg::SlimEval)]
    pub preprocess: SchemeArg,
    /// Side length (must equal the network's input; default: the network's input).
    #[arg(long)]
    pub size: Option<usize>,
    /// Sticks to use: `all`, or a count (the CPU backend: that many executors).
    #[arg(long, default_value = "all")]
    pub devices: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Requests that may wait at once; more are refused with 503 and Retry-After.
    #[arg(long, default_value_t = 32)]
    pub queue: usize,
    /// Largest request body in bytes; larger is refused with 413.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_body: usize,
    /// Require this key (header X-API-Key, or Authorization: Bearer) on classification requests.
    #[arg(long, env = "NCS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Where inferences run. Unlike the other commands, the default is the real sticks (usb),
    /// or the emulator with --emulate: a server is for deployment.
    #[command(flatten)]
    pub backend: BackendArgs,
}

pub fn run(args: &ServeArgs) -> Result<Outcome> {
    let graph = Arc::new(GraphFile::read(&args.graph)?);
    let name = args.graph.file_name().map_or_else(|| args.graph.display().to_string(), |n| n.to_string_lossy().into());
    let info = GraphInfo::of(&name, &graph);
    if let Some(size) = args.size.filter(|&s| s != info.input_shape[0] as usize) {
        return Err(Error::Usage(format!(
            "--size {size}: the network input is {:?}; images must preprocess to its side",
            info.input_shape
        )));
    }
    let labels = Labels::read(&args.labels, info.classes())?;
    let config = Config {
        graph: info,
        labels: labels.names().to_vec(),
        scheme: args.preprocess.scheme(0, false),
        queue: args.queue,
        max_body: args.max_body,
        api_key: args.api_key.clone().filter(|k| !k.is_empty()),
        client_timeout: ncs::serve::CLIENT_TIMEOUT,
    };
    config.validate().map_err(|e| e.in_graph(Some(&args.graph)))?;
    let workers = open_workers(args, graph)?;
    let names: Vec<String> = workers.iter().map(|w| format!("{} ({})", w.name(), w.kind())).collect();
    let app = App::new(config, workers)?;
    let runtime = ncs::serve::runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Usage(format!("--listen {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(|e| Error::Usage(format!("--listen: {e}")))?;
        println!("ncs serve: listening on http://{addr} with {} stick(s): {}", names.len(), names.join(", "));
        ncs::serve::serve(listener, Arc::clone(&app), shutdown_signal())
            .await
            .map_err(|e| Error::Usage(format!("serving on {addr}: {e}")))
    })?;
    let answered: u64 = app.pool.sticks().iter().map(|s| s.inferences).sum();
    println!("ncs serve: stopped; {answered} inferences answered, sticks closed");
    Ok(Outcome::Success)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    println!("ncs serve: shutting down: no new connections; finishing the requests in flight");
}

/// One worker per stick asked for (opened in parallel: a real stick takes seconds to boot).
fn open_workers(args: &ServeArgs, graph: Arc<GraphFile>) -> Result<Vec<Box<dyn Worker>>> {
    let kind = match (args.backend.backend, args.backend.emulate) {
        (None, None) if args.backend.emulate_profile.is_none() => Backend::Usb,
        _ => args.backend.backend()?,
    };
    let options = args.backend.options_with(PrecisionArg::Fp16)?;
    let wanted = match args.devices.as_str() {
        "all" => None,
        n => Some(
            n.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| Error::Usage(format!("--devices {n}: expected `all` or a count of at least 1")))?,
        ),
    };
    match kind {
        // The CPU reference and an NCSDK library: one inference at a time each, through the
        // library's backend factory (which is also how they recover).
        Backend::Cpu | Backend::Sdk => {
            let count = wanted.unwrap_or(1);
            if kind == Backend::Sdk && count > 1 {
                return Err(Error::Usage("--backend sdk serves with one device".into()));
            }
            (0..count)
                .map(|i| {
                    let (graph, options) = (Arc::clone(&graph), options.clone());
                    let open: ncs::serve::Opener = Box::new(move || ncs::backend::open(kind.into(), &graph, &options));
                    let name = format!("{}{i}", BackendKind::from(kind).name());
                    Ok(Box::new(BackendWorker::open(&name, open)?) as Box<dyn Worker>)
                })
                .collect()
        }
        Backend::Emulator | Backend::Usb => open_sticks(args, kind, wanted, graph, &options),
    }
}

/// A [`StickWorker`] (both slots in use, recovered in place) per stick on the bus.
fn open_sticks(
    args: &ServeArgs,
    kind: Backend,
    wanted: Option<usize>,
    graph: Arc<GraphFile>,
    backend: &BackendOptions,
) -> Result<Vec<Box<dyn Worker>>> {
    let emulated = kind == Backend::Emulator;
    let bus: Arc<dyn Bus> = Arc::from(
        open_bus_with(emulated.then_some(backend.emulate), backend.emulate_profile.as_ref())?
            .ok_or(Error::NoUsbSubsystem)?,
    );
    let firmware = firmware_for(emulated, backend.firmware.as_deref())?;
    let found = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
    if found.is_empty() {
        return Err(Error::NoStick { bus: bus.describe() });
    }
    if wanted.is_some_and(|n| n > found.len()) {
        return Err(Error::Usage(format!(
            "--devices {}: {} stick(s) found on {}",
            args.devices,
            found.len(),
            bus.describe()
        )));
    }
    let names: Vec<String> = found.iter().map(|s| s.name()).take(wanted.unwrap_or(usize::MAX)).collect();
    let options = OpenOptions { tracer: backend.tracer.clone(), ..OpenOptions::default() };
    let label = BackendKind::from(kind).name();
    let opened: Vec<Result<StickWorker>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let (bus, firmware, graph, options) =
                    (Arc::clone(&bus), firmware.clone(), Arc::clone(&graph), options.clone());
                scope.spawn(move || StickWorker::open(bus, name, label, firmware, graph, options))
            })
            .collect();
        handles
            .into_iter()
            .zip(&names)
            .map(|(h, name)| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::BackendFault { backend: name.clone(), message: "opening it panicked".into() })
                })
            })
            .collect()
    });
    let mut workers: Vec<Box<dyn Worker>> = Vec::new();
    let mut first_error = None;
    for (name, result) in names.iter().zip(opened) {
        match result {
            Ok(worker) => workers.push(Box::new(worker)),
            // A deployment keeps serving with the sticks that work; the others are named.
            Err(e) => {
                log::error!("{name}: cannot open, serving without it: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if workers.is_empty() => Err(e),
        _ => Ok(workers),
    }
}
