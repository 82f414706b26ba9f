//! The HTTP client of the admin API and `/metrics` of one [`Server`]: [`Http`] sends a request
//! with or without the admin token and gives back an [`Answer`] (status, body as JSON, text),
//! which can check an admin API error.

use std::time::Duration;

use serde_json::Value;

use super::config::ADMIN_TOKEN;
use super::process::Server;

/// An HTTP client for the admin API and `/metrics` of one server.
pub struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An HTTP answer: status and body (JSON when it parses, else the text as a JSON string).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Http {
    /// A client with the right admin token.
    pub fn admin(server: &Server) -> Http {
        Http::with_token(server, Some(ADMIN_TOKEN))
    }

    /// A client sending `token` (or no `Authorization` header).
    pub fn with_token(server: &Server, token: Option<&str>) -> Http {
        Http {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            base: format!("http://{}", server.addr),
            token: token.map(str::to_string),
        }
    }

    /// Sends `method path` with an optional raw body.
    pub async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Answer { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send("PUT", path, Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None).await
    }

    /// `GET path`, which must answer 200; its JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
        answer.body
    }
}

impl Answer {
    /// Asserts an admin API error: this status, this code, and a message mentioning `mentions`.
    pub fn assert_error(&self, status: u16, code: &str, mentions: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(mentions),
            "the message should mention {mentions:?}: {}",
            self.text
        );
    }
}
