//! The routes. Classification requests go: API key (401) → a place in the queue (503 with
//! `Retry-After`) → the body, multipart field `file` or raw (413 over `--max-body`, 408 when too
//! slow) → decoding and preprocessing (400 naming why) → the pool → JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::body::{self, BodyError};
use super::pool::PoolError;
use super::{page, Answer, App, StickState};
use crate::preprocess;
use crate::verify::top_k;

/// The old Flask app called an answer at or below this confidence "LOW" (its
/// `InceptionThreshold`, research/inception_and_peers.md §3.2, §3.6 step 4).
const LOW_CONFIDENCE: f32 = 0.8;

/// The routes over `app`.
pub fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body;
    Router::new()
        .route("/", get(index))
        .route("/Inference", post(inference))
        .route("/v1/classify", post(classify))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        // The body is read (bounded) by `body`; the multipart parser then reads it from memory.
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

/// Why a classification request was not answered.
#[derive(Debug)]
enum Refusal {
    Unauthorized,
    QueueFull { retry_after: u64 },
    TooLarge(String),
    TooSlow,
    BadRequest(String),
    Unavailable { message: String, retry_after: u64 },
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
            Refusal::QueueFull { .. } | Refusal::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Refusal::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn message(&self, app: &App) -> String {
        match self {
            Refusal::Unauthorized => "missing or wrong API key (send X-API-Key or Authorization: Bearer)".into(),
            Refusal::QueueFull { .. } => "the queue is full; retry later".into(),
            Refusal::TooSlow => format!("the body did not arrive within {:?}", app.config.client_timeout),
            Refusal::TooLarge(m) | Refusal::BadRequest(m) => m.clone(),
            Refusal::Unavailable { message, .. } => message.clone(),
        }
    }

    /// The response, with `body` as the JSON error document.
    fn respond(&self, body: Value) -> Response {
        let mut response = (self.status(), json_body(&body)).into_response();
        let headers = response.headers_mut();
        match self {
            Refusal::QueueFull { retry_after } | Refusal::Unavailable { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Refusal::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ncs\""));
            }
            _ => {}
        }
        response
    }
}

/// A classified image.
struct Classified {
    answer: Answer,
    preprocess: Duration,
}

/// `POST /Inference`: the old Flask app's contract.
async fn inference(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let response = match run_classification(&app, request).await {
        Ok(done) => {
            let (index, confidence) = top_k(&done.answer.output, 1)[0];
            let label = &app.config.labels[index];
            let confidence_text = shortest_fp16(confidence);
            let low = if confidence <= LOW_CONFIDENCE { "LOW " } else { "" };
            let message = format!(
                "{label} detected with a {low}confidence of {confidence_text} in {:.3} seconds",
                done.answer.inference.as_secs_f64()
            );
            json_body(&json!({
                "Response": "OK",
                "Classification": label,
                "aClassification": index.to_string(),
                "Confidence": confidence_text,
                "Message": message,
            }))
            .into_response()
        }
        Err(refusal) => refusal.respond(json!({ "Response": "FAILED", "Message": refusal.message(&app) })),
    };
    finish(&app, "/Inference", started, response)
}

/// `POST /v1/classify[?top=K]`: top-k, the stick, timings and the graph.
async fn classify(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let classes = app.config.labels.len();
    let top = match requested_top(request.uri().query()) {
        Ok(top) => top.unwrap_or(5).min(classes),
        Err(message) => {
            let (parts, body) = request.into_parts();
            body::drain(&parts.headers, body).await;
            let refusal = Refusal::BadRequest(message);
            let response = refusal.respond(json!({ "error": refusal.message(&app), "status": 400 }));
            return finish(&app, "/v1/classify", started, response);
        }
    };
    let response = match run_classification(&app, request).await {
        Ok(done) => {
            let a = &done.answer;
            let ranked: Vec<Value> = top_k(&a.output, top)
                .into_iter()
                .map(|(i, p)| json!({ "index": i, "label": app.config.labels[i], "probability": p }))
                .collect();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            json_body(&json!({
                "label": ranked[0]["label"],
                "top": ranked,
                "stick": a.stick,
                "retried": a.retried,
                "timing_ms": {
                    "queue": ms(a.queue),
                    "preprocess": ms(done.preprocess),
                    "inference": ms(a.inference),
                    "total": ms(started.elapsed()),
                },
                "graph": { "name": app.config.graph.name, "sha256": app.config.graph.sha256 },
            }))
            .into_response()
        }
        Err(refusal) => refusal.respond(json!({ "error": refusal.message(&app), "status": refusal.status().as_u16() })),
    };
    finish(&app, "/v1/classify", started, response)
}

/// `top=K` from a query string: `Ok(None)` when absent; K must be a whole number of 1 or more,
/// as `--top` on the command line (more than the classes is cut to the classes).
fn requested_top(query: Option<&str>) -> Result<Option<usize>, String> {
    let Some(value) = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("top="))) else {
        return Ok(None);
    };
    match value.parse::<usize>() {
        Ok(k) if k >= 1 => Ok(Some(k)),
        _ => Err(format!("top={value}: expected a whole number of 1 or more")),
    }
}

async fn run_classification(app: &App, request: Request) -> Result<Classified, Refusal> {
    let admitted = authorize(app, request.headers())
        .and_then(|()| app.pool.admit().ok_or_else(|| Refusal::QueueFull { retry_after: retry_after(app) }));
    let ticket = match admitted {
        Ok(ticket) => ticket,
        Err(refusal) => {
            let (parts, body) = request.into_parts();
            body::drain(&parts.headers, body).await;
            return Err(refusal);
        }
    };
    let image =
        body::read_image(request, app.config.max_body, app.config.client_timeout).await.map_err(|e| match e {
            BodyError::TooLarge => {
                Refusal::TooLarge(format!("the body is larger than --max-body ({} bytes)", app.config.max_body))
            }
            BodyError::TooSlow => Refusal::TooSlow,
            BodyError::Bad(message) => Refusal::BadRequest(message),
        })?;
    let permit = app.preprocess_slots.acquire().await.map_err(|_| unavailable(app, "the server is stopping"))?;
    let preprocess_started = Instant::now();
    let plan = app.plan.clone();
    let input = tokio::task::spawn_blocking(move || plan.apply(&preprocess::decode(&image, "upload")?))
        .await
        .map_err(|e| unavailable(app, &format!("preprocessing stopped: {e}")))?
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let preprocess = preprocess_started.elapsed();
    drop(permit);
    let reply = app.pool.submit(ticket, input).await.map_err(|_| unavailable(app, "the stick pool stopped"))?;
    let answer = reply.map_err(|e| match e {
        PoolError::Failed(_) | PoolError::ShuttingDown => unavailable(app, &e.to_string()),
    })?;
    app.metrics.observe_stages(answer.queue, preprocess, answer.inference);
    Ok(Classified { answer, preprocess })
}

fn unavailable(app: &App, message: &str) -> Refusal {
    Refusal::Unavailable { message: message.to_owned(), retry_after: retry_after(app) }
}

/// Seconds until a place is likely free: the queue ahead, spread over the usable slots, at a
/// second per round (sticks take ~0.1–0.4 s per Inception-class image), at least 1.
fn retry_after(app: &App) -> u64 {
    let slots: usize =
        app.pool.sticks().iter().filter(|s| s.state == StickState::Ready).map(|s| s.slots).sum::<usize>().max(1);
    (app.pool.waiting() / slots).clamp(1, 60) as u64
}

/// Checks the API key in constant time (digests of equal length are compared).
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(expected) = &app.config.api_key else { return Ok(()) };
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer "))
        .ok_or(Refusal::Unauthorized)?;
    let (a, b) = (Sha256::digest(given.trim().as_bytes()), Sha256::digest(expected.as_bytes()));
    let differs = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    if differs == 0 {
        Ok(())
    } else {
        Err(Refusal::Unauthorized)
    }
}

/// `GET /healthz`: each stick's state; 503 when none is usable.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    let sticks = app.pool.sticks();
    let usable = sticks.iter().any(|s| s.state == StickState::Ready);
    let body = json!({
        "status": if usable { "ok" } else { "unavailable" },
        "sticks": sticks.iter().map(super::StickStatus::to_json).collect::<Vec<_>>(),
        "queue": { "waiting": app.pool.waiting(), "capacity": app.pool.capacity() },
        "retried": app.pool.retried(),
        "graph": { "name": app.config.graph.name, "sha256": app.config.graph.sha256 },
        "uptime_s": app.started.elapsed().as_secs_f64(),
    });
    let status = if usable { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    finish(&app, "/healthz", started, (status, json_body(&body)).into_response())
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    let text = app.metrics.render(&app.pool);
    let response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
            .into_response();
    finish(&app, "/metrics", started, response)
}

/// `GET /`: the upload page.
async fn index(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    finish(&app, "/", started, Html(page::render(&app.config)).into_response())
}

async fn not_found(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    let body = json!({ "error": "no such route (try GET / or POST /v1/classify)", "status": 404 });
    finish(&app, "other", started, (StatusCode::NOT_FOUND, json_body(&body)).into_response())
}

async fn wrong_method(State(app): State<Arc<App>>, method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let started = Instant::now();
    let body = json!({
        "error": format!("{method} is not served at {} (GET /, /healthz, /metrics; POST /Inference, /v1/classify)", uri.path()),
        "status": 405,
    });
    finish(&app, "other", started, (StatusCode::METHOD_NOT_ALLOWED, json_body(&body)).into_response())
}

fn finish(app: &App, route: &'static str, started: Instant, response: Response) -> Response {
    app.metrics.observe_request(route, response.status().as_u16(), started.elapsed());
    response
}

fn json_body(value: &Value) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], value.to_string())
}

/// The shortest decimal that reads back as the same fp16 value — how numpy prints the
/// float16 the old app's `GetResult` returned (e.g. "0.999", "0.8833").
pub fn shortest_fp16(value: f32) -> String {
    let target = half::f16::from_f32(value);
    let shortest = (1..=8)
        .map(|digits| format!("{:.*e}", digits - 1, value))
        .find(|text| text.parse::<f32>().is_ok_and(|v| half::f16::from_f32(v) == target))
        .and_then(|text| text.parse::<f32>().ok())
        .map_or_else(|| value.to_string(), |v| v.to_string());
    // Python writes whole numbers with ".0".
    if shortest.contains(['.', 'e', 'N', 'i']) {
        shortest
    } else {
        shortest + ".0"
    }
}

#[cfg(test)]
mod tests {
    use super::shortest_fp16;

    #[test]
    fn confidences_print_as_numpy_prints_float16() {
        // numpy: str(np.float16(0.999)) == '0.999', np.float16(0.8833) -> '0.8833', 1.0 -> '1.0'.
        assert_eq!(shortest_fp16(half::f16::from_f32(0.999).to_f32()), "0.999");
        assert_eq!(shortest_fp16(half::f16::from_f32(0.8833).to_f32()), "0.8833");
        assert_eq!(shortest_fp16(1.0), "1.0");
        assert_eq!(shortest_fp16(half::f16::from_f32(0.1).to_f32()), "0.1");
    }
}
