//! Reading a request's image: the whole body, bounded by `--max-body` and by time, then the
//! multipart field `file` or the raw bytes.
//!
//! A request refused before its body is read (401, 503) or part-way (413) has its body read
//! and discarded up to [`DRAIN_LIMIT`] first: a socket closed with unread data is reset, and
//! the client would see "connection reset" instead of the answer.

use std::future::poll_fn;
use std::pin::pin;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap};

/// Most bytes read and thrown away so that a refusal reaches the client.
pub const DRAIN_LIMIT: usize = 1 << 20;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit.
    TooLarge,
    /// Not sent within the client timeout.
    TooSlow,
    /// Not a usable request (bad multipart, no `file` field, empty).
    Bad(String),
}

/// True when the client waits for a go-ahead before sending its body (`Expect: 100-continue`):
/// then a refusal needs no draining, the body never comes.
fn waits_to_send(headers: &HeaderMap) -> bool {
    headers.get(header::EXPECT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Reads and discards a body that will not be used, up to [`DRAIN_LIMIT`] bytes and one second.
pub async fn drain(headers: &HeaderMap, body: Body) {
    if waits_to_send(headers) {
        return;
    }
    let mut body = pin!(body);
    let mut seen = 0usize;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(frame)) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            seen += frame.data_ref().map_or(0, Bytes::len);
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

/// The whole body, at most `max` bytes, within `timeout`.
async fn read_limited(headers: &HeaderMap, body: Body, max: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        if declared.is_some_and(|n| n <= (max + DRAIN_LIMIT) as u64) {
            drain(headers, body).await;
        }
        return Err(BodyError::TooLarge);
    }
    let mut body = pin!(body);
    let mut data = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut over = 0usize;
    let read = tokio::time::timeout(timeout, async {
        while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let frame = frame.map_err(|e| BodyError::Bad(format!("cannot read the body: {e}")))?;
            let Some(chunk) = frame.data_ref() else { continue };
            if over == 0 && data.len() + chunk.len() <= max {
                data.extend_from_slice(chunk);
            } else {
                // Keep reading a little so the 413 is seen; past that, stop.
                over += chunk.len();
                if over > DRAIN_LIMIT {
                    break;
                }
            }
        }
        Ok(())
    })
    .await;
    match read {
        Err(_) => Err(BodyError::TooSlow),
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) if over > 0 => Err(BodyError::TooLarge),
        Ok(Ok(())) => Ok(Bytes::from(data)),
    }
}

/// The image: the multipart field `file` when the body is a form, else the raw body. The body
/// must be at most `max` bytes and arrive within `timeout` (a slow sender holds a queue place).
pub async fn read_image(request: Request, max: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let (parts, body) = request.into_parts();
    let bytes = read_limited(&parts.headers, body, max, timeout).await?;
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/"));
    let image = if is_form {
        let request = Request::from_parts(parts, Body::from(bytes));
        let bad = |what: String| BodyError::Bad(format!("bad multipart body: {what}"));
        let mut form = Multipart::from_request(request, &()).await.map_err(|r| bad(r.body_text()))?;
        let mut found = None;
        while let Some(field) = form.next_field().await.map_err(|e| bad(e.body_text()))? {
            if field.name() == Some("file") {
                found = Some(field.bytes().await.map_err(|e| bad(e.body_text()))?);
                break;
            }
        }
        found.ok_or_else(|| BodyError::Bad("the multipart body has no field named `file`".into()))?
    } else {
        bytes
    };
    if image.is_empty() {
        return Err(BodyError::Bad("no image: the body (or field `file`) is empty".into()));
    }
    Ok(image)
}
