//! `ncs serve GRAPH --labels FILE [...]`: open the sticks, then serve until SIGTERM / Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ncs::backend::BackendKind;
use ncs::blob::GraphFile;
use ncs::input::ImagePlan;
use ncs::labels::Labels;
use ncs::serve::{open_workers, App, Config, GraphInfo};
use ncs::{Error, Result};

use super::backend::{BackendArgs, PrecisionArg};
use super::input::{parse_size, SchemeArg};
use super::{out, Outcome};

/// Options of `ncs serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The graph file (a classifier: one output per label).
    pub graph: PathBuf,
    /// Class names, one per line (a line reading `classes` is skipped, as NCSDK apps did).
    #[arg(long)]
    pub labels: PathBuf,
    /// How an uploaded image becomes the network input (`ncsdk` is what NCSDK-era apps did)
    /// [default: chosen from the network input, and said].
    #[arg(long, value_enum, value_name = "SCHEME")]
    pub preprocess: Option<SchemeArg>,
    /// Image size H,W (or N for N,N); must be the network's own [default: the network's own].
    #[arg(long, value_name = "H,W", value_parser = parse_size)]
    pub size: Option<[usize; 2]>,
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
    let plan = ImagePlan::for_network(&info.network, args.preprocess.map(|s| s.scheme(0, false)), args.size)?;
    let labels = Labels::read(&args.labels, info.classes())?;
    let config = Config {
        graph: info,
        labels: labels.names().to_vec(),
        scheme: plan.scheme,
        queue: args.queue,
        max_body: args.max_body,
        api_key: args.api_key.clone().filter(|k| !k.is_empty()),
        client_timeout: ncs::serve::CLIENT_TIMEOUT,
    };
    config.validate().map_err(|e| e.in_graph(Some(&args.graph)))?;
    out::note(&plan.line());
    let workers = open_workers(
        backend_kind(args)?,
        devices(&args.devices)?,
        graph,
        &args.backend.options_with(PrecisionArg::Fp16)?,
    )?;
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

/// The backend: as the other commands, except that with none of `--backend`, `--emulate` and
/// `--emulate-profile` it is the real sticks (a server is for deployment).
fn backend_kind(args: &ServeArgs) -> Result<BackendKind> {
    match (args.backend.backend, args.backend.emulate) {
        (None, None) if args.backend.emulate_profile.is_none() => Ok(BackendKind::Usb),
        _ => args.backend.kind(),
    }
}

/// `--devices`: `all` (`None`) or a count of at least 1.
fn devices(text: &str) -> Result<Option<usize>> {
    match text {
        "all" => Ok(None),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| Error::Usage(format!("--devices {n}: expected `all` or a count of at least 1"))),
    }
}
