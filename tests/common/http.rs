//! An HTTP client (ureq), an in-process `ncs serve` on software sticks, and the checks of its
//! answers against `ncs classify` — shared by `tests/serve*.rs` and `benches/serve.rs`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ncs::blob::GraphFile;
use ncs::device::emulator::{Profile, SoftBus, SOFT_FIRMWARE};
use ncs::device::{Bus, Firmware, OpenOptions};
use ncs::preprocess::Scheme;
use ncs::serve::{App, Config, GraphInfo, Running, StickWorker, Worker};
use ureq::unversioned::multipart::{Form, Part};

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A client that reports every status as a value (4xx/5xx are answers here, not errors).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Reply, ureq::Error> {
    let mut response = result?;
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string()?;
    Ok(Reply { status, retry_after, content_type, body })
}

/// `POST url` with the bytes as the raw body.
pub fn try_post_raw(agent: &ureq::Agent, url: &str, bytes: &[u8], key: Option<&str>) -> Result<Reply, ureq::Error> {
    let mut request = agent.post(url).header("content-type", "application/octet-stream");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    reply(request.send(bytes))
}

pub fn post_raw(agent: &ureq::Agent, url: &str, bytes: &[u8]) -> Reply {
    try_post_raw(agent, url, bytes, None).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// `POST url` as the old clients did: multipart form with the image in field `file`.
pub fn post_file(agent: &ureq::Agent, url: &str, bytes: &[u8]) -> Reply {
    let part = Part::bytes(bytes).file_name("image.png").mime_str("image/png").unwrap();
    reply(agent.post(url).send(Form::new().part("file", part))).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

pub fn get(agent: &ureq::Agent, url: &str) -> Reply {
    reply(agent.get(url).call()).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The 60 pen-stroke digits (`tests/data/digits`) as 8-bit grey PNGs, with their file stems.
pub fn digit_pngs() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let values = ncs::npy::read(&path).unwrap().values;
            let pixels: Vec<u8> = values.iter().map(|v| (v * 255.0).round() as u8).collect();
            let mut png = Vec::new();
            image::GrayImage::from_raw(28, 28, pixels)
                .unwrap()
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .unwrap();
            (path.file_stem().unwrap().to_string_lossy().into_owned(), png)
        })
        .collect()
}

/// How to set up an in-process server.
pub struct Setup<'a> {
    pub graph: &'a Path,
    pub labels: Vec<String>,
    pub scheme: Scheme,
    pub sticks: usize,
    /// How long each inference takes on the stick, which refuses its output until then.
    pub latency: Duration,
    pub queue: usize,
    pub max_body: usize,
    pub api_key: Option<&'a str>,
    pub client_timeout: Duration,
}

impl<'a> Setup<'a> {
    pub fn new(graph: &'a Path, classes: usize, scheme: Scheme) -> Self {
        Setup {
            graph,
            labels: (0..classes).map(|i| i.to_string()).collect(),
            scheme,
            sticks: 2,
            latency: Duration::ZERO,
            queue: 64,
            max_body: 1 << 20,
            api_key: None,
            client_timeout: ncs::serve::CLIENT_TIMEOUT,
        }
    }

    /// Boots the software sticks and serves on a free port. The bus is returned for faults.
    pub fn start(self) -> (Running, SoftBus) {
        let file = Arc::new(GraphFile::read(self.graph).unwrap());
        let name = self.graph.file_name().unwrap().to_string_lossy().into_owned();
        let graph = GraphInfo::of(&name, &file);
        // The stick itself models each inference's time: it refuses the output until then and
        // the driver asks again (docs/usb_protocol.md §10).
        let bus = SoftBus::with_profile(self.sticks, Profile { latency: Some(self.latency), ..strict_profile() });
        let shared: Arc<dyn Bus> = Arc::new(bus.clone());
        let firmware = Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software stick firmware").unwrap();
        let workers: Vec<Box<dyn Worker>> = bus
            .sticks_mut()
            .iter()
            .map(|s| {
                let worker = StickWorker::open(
                    Arc::clone(&shared),
                    &s.name(),
                    "emulator",
                    firmware.clone(),
                    Arc::clone(&file),
                    OpenOptions::default(),
                )
                .unwrap();
                Box::new(worker) as Box<dyn Worker>
            })
            .collect();
        let config = Config {
            graph,
            labels: self.labels,
            scheme: self.scheme,
            queue: self.queue,
            max_body: self.max_body,
            api_key: self.api_key.map(str::to_owned),
            client_timeout: self.client_timeout,
        };
        let app = App::new(config, workers).unwrap();
        (Running::start(app, "127.0.0.1:0".parse().unwrap()).unwrap(), bus)
    }
}

/// The strict `usb2` software stick (framing, one owner, IDs checked, blocking timeouts),
/// with boots and resets shortened so that recoveries fit a test, and results ready at once
/// ([`Setup::latency`] sets an inference time instead).
pub fn strict_profile() -> Profile {
    Profile {
        boot_absence: Duration::from_millis(30),
        reset_linger: Duration::from_millis(20),
        latency: Some(Duration::ZERO),
        ..Profile::usb2()
    }
}

/// Polls `done` until it holds; fails the test after `within`.
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `ncs classify --json` (CPU, the binary under test) over the digits written as PNGs: stem → [(index, score)] top 3.
pub fn classify_with_the_cli(graph: &Path, digits: &[(String, Vec<u8>)]) -> HashMap<String, Vec<(u64, f64)>> {
    let dir = std::env::temp_dir().join(format!("ncs-serve-classify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (stem, png) in digits {
        std::fs::write(dir.join(format!("{stem}.png")), png).unwrap();
    }
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, "classes\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ncs"))
        .args(["classify", graph.to_str().unwrap(), dir.to_str().unwrap(), "--labels"])
        .arg(&labels)
        .args(["--preprocess", "plain", "--top", "3", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| {
            let stem = Path::new(image["path"].as_str().unwrap()).file_stem().unwrap().to_string_lossy().into_owned();
            let top = image["top"].as_array().unwrap().iter();
            (stem, top.map(|t| (t["index"].as_u64().unwrap(), t["score"].as_f64().unwrap())).collect())
        })
        .collect()
}

/// Checks one answer of either endpoint against the CLI's top 3 for that image.
pub fn check_answer(route: &str, reply: &Reply, expected: &[(u64, f64)]) {
    assert_eq!(reply.status, 200, "{route}: {}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let v = reply.json();
    if route == "/Inference" {
        assert_eq!(v["Response"], "OK");
        assert_eq!(v["Classification"], expected[0].0.to_string());
        let confidence: f64 = v["Confidence"].as_str().unwrap().parse().unwrap();
        // The fp16 value printed shortest: it reads back as the same half.
        assert_eq!(half::f16::from_f64(confidence), half::f16::from_f64(expected[0].1), "{}", reply.body);
        assert!(v["Message"].as_str().unwrap().starts_with(&format!("{} detected with a", expected[0].0)));
    } else {
        let top: Vec<(u64, f64)> = v["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["index"].as_u64().unwrap(), t["probability"].as_f64().unwrap()))
            .collect();
        assert_eq!(top, expected, "{}", reply.body);
        assert_eq!(v["label"], expected[0].0.to_string());
        assert_eq!(v["graph"]["name"], "hsinm_mnist.graph");
        assert_eq!(v["graph"]["sha256"].as_str().unwrap().len(), 64);
        for k in ["queue", "preprocess", "inference", "total"] {
            assert!(v["timing_ms"][k].as_f64().unwrap() >= 0.0, "{k}");
        }
    }
}

/// Sends `count` requests from `clients` threads (request i: digit i % 60; odd ones through
/// the old multipart `/Inference`, even ones as a raw body to `/v1/classify?top=3`) and checks
/// every answer.
pub fn load(base: &str, clients: usize, count: usize, expected: &HashMap<String, Vec<(u64, f64)>>) {
    let digits = Arc::new(digit_pngs());
    let expected = Arc::new(expected.clone());
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (digits, expected, base) = (Arc::clone(&digits), Arc::clone(&expected), base.to_owned());
            std::thread::spawn(move || {
                let agent = agent();
                for i in (c..count).step_by(clients) {
                    let (stem, png) = &digits[i % digits.len()];
                    if i % 2 == 1 {
                        check_answer(
                            "/Inference",
                            &post_file(&agent, &format!("{base}/Inference"), png),
                            &expected[stem],
                        );
                    } else {
                        let reply = post_raw(&agent, &format!("{base}/v1/classify?top=3"), png);
                        check_answer("/v1/classify", &reply, &expected[stem]);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client saw a wrong or missing answer");
    }
}
