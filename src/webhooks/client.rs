//! One delivery attempt over HTTP: a signed POST with the Standard Webhooks headers, a
//! per-attempt timeout, no redirects, the response body read up to `BODY_BYTES_MAX` and
//! dropped. The only code here that touches the network; it never panics on what a receiver
//! sends back.

use std::time::{Duration, Instant};

use super::address::GuardedResolver;
use super::retry::parse_retry_after;
use super::signing::Secrets;
use serde::{Deserialize, Serialize};

use crate::config::bounds::{
    WEBHOOK_BODY_BYTES_MAX as BODY_BYTES_MAX, WEBHOOK_ERROR_CHARS_MAX as ERROR_CHARS_MAX,
};

/// The HTTP client for every webhook: rustls, the guarded resolver, no redirects, no
/// proxy from the environment.
pub fn build(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
        .connect_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("switchboard-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// What one attempt did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started (Unix ms).
    pub at_ms: u64,
    /// The response status, if a response came.
    pub status: Option<u16>,
    /// Why no usable response came (timeout, connection error), in words.
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The receiver's `Retry-After`, in ms from the attempt.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

/// What is sent: the message id, the body and where.
pub struct Message<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub body: &'a [u8],
}

/// POSTs `message` signed with `secrets`, waiting at most `timeout` for the whole exchange.
pub async fn send(
    client: &reqwest::Client,
    secrets: &Secrets,
    message: Message<'_>,
    timeout: Duration,
    now_ms: u64,
) -> Attempt {
    let started = Instant::now();
    let timestamp = (now_ms / 1000) as i64;
    let signature = secrets.sign(message.id, timestamp, message.body);
    let request = client
        .post(message.url)
        .header("content-type", "application/json")
        .header("webhook-id", message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.body.to_vec());
    let exchange = async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now_ms));
        let mut read = 0usize;
        while read < BODY_BYTES_MAX {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                // The status is what counts; a broken body after it changes nothing.
                Ok(None) | Err(_) => break,
            }
        }
        Ok::<_, reqwest::Error>((status, retry_after))
    };
    let outcome = tokio::time::timeout(timeout, exchange).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (status, retry_after_ms, error) = match outcome {
        Ok(Ok((status, retry_after))) => (Some(status), retry_after, None),
        Ok(Err(e)) => (None, None, Some(describe(&e))),
        Err(_) => (None, None, Some(format!("timed out after {timeout:?}"))),
    };
    Attempt {
        at_ms: now_ms,
        status,
        error,
        latency_ms,
        retry_after_ms,
    }
}

/// The error and its causes, shortened.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(ERROR_CHARS_MAX).collect()
}
