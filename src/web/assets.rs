//! The files of `web/` compiled into the binary, and how they are served: the content type from
//! the file name, a strong ETag from the content's SHA-256 (`If-None-Match` answers 304),
//! gzip and brotli bodies compressed once at start (chosen by `Accept-Encoding`, with
//! `Vary: Accept-Encoding`), cache headers per kind of file, and a Content-Security-Policy on
//! every HTML page. Must never: read files at run time, or compress per request.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

/// The `web/` folder, embedded at compile time (also in debug builds).
#[derive(rust_embed::Embed)]
#[folder = "web/"]
struct WebFolder;

/// What HTML pages may load: only this server's own scripts, styles and sockets; images may
/// also come over https (operator avatars); no page may be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: https:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'none'; object-src 'none'";

/// One file, ready to serve (bodies are shared, never copied per response).
pub struct Asset {
    pub identity: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    pub etag: String,
    pub content_type: String,
    pub html: bool,
}

/// Every file of `web/` by its path inside it (`widget.js`, `console/index.html`).
static ASSETS: LazyLock<HashMap<String, Asset>> = LazyLock::new(|| {
    WebFolder::iter()
        .filter_map(|path| {
            let file = WebFolder::get(&path)?;
            Some((path.to_string(), Asset::new(&path, file)))
        })
        .collect()
});

impl Asset {
    fn new(path: &str, file: rust_embed::EmbeddedFile) -> Self {
        let identity = file.data.into_owned();
        let hash = file.metadata.sha256_hash();
        let etag = format!(
            "\"{}\"",
            hash[..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let content_type = match path.rsplit('.').next() {
            Some("js" | "mjs") => "text/javascript; charset=utf-8".to_string(),
            Some("html") => "text/html; charset=utf-8".to_string(),
            Some("css") => "text/css; charset=utf-8".to_string(),
            Some("svg") => "image/svg+xml".to_string(),
            _ => file.metadata.mimetype().to_string(),
        };
        Self {
            gzip: gzip(&identity).into(),
            brotli: brotli(&identity).into(),
            html: path.ends_with(".html"),
            identity: identity.into(),
            etag,
            content_type,
        }
    }
}

/// The file at `path` inside `web/`.
pub fn get(path: &str) -> Option<&'static Asset> {
    ASSETS.get(path)
}

/// Compresses every file now, so the first visitor does not wait for it.
pub fn warm() {
    LazyLock::force(&ASSETS);
}

/// gzip at the best level.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("writing to memory");
    out
}

/// How long browsers may keep a file without asking again.
#[derive(Clone, Copy)]
pub enum Caching {
    /// The widget script: embedded on other sites under a fixed URL; kept 5 minutes, then
    /// revalidated with its ETag.
    Short,
    /// Pages: always revalidated (a 304 costs one round trip).
    Revalidate,
}

/// Serves `asset` for a request with `headers`.
pub fn respond(asset: &Asset, headers: &HeaderMap, caching: Caching) -> Response {
    let cache = match caching {
        Caching::Short => "public, max-age=300",
        Caching::Revalidate => "no-cache",
    };
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, value(&asset.etag));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.html {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    if not_modified(headers, &asset.etag) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, value(&asset.content_type));
    let body = match preferred_encoding(headers) {
        Encoding::Brotli => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            &asset.brotli
        }
        Encoding::Gzip => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            &asset.gzip
        }
        Encoding::Identity => &asset.identity,
    };
    (StatusCode::OK, out, body.clone()).into_response() // a reference count, not a copy
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("ETags and content types are ASCII")
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[derive(Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Brotli when the client takes it, else gzip, else none (`q=0` refuses an encoding).
fn preferred_encoding(headers: &HeaderMap) -> Encoding {
    let mut brotli = false;
    let mut gzip = false;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match name.as_str() {
            "br" => brotli = true,
            "gzip" => gzip = true,
            _ => {}
        }
    }
    if brotli {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    /// The widget is loaded by every visitor of a customer's site: it must stay small.
    #[test]
    fn the_widget_script_is_at_most_25_kib_gzipped() {
        let widget = get("widget.js").expect("web/widget.js is embedded");
        let size = gzip(&widget.identity).len();
        assert!(size <= 25 * 1024, "widget.js is {size} bytes gzipped");
        assert!(widget.identity.len() > 1000, "widget.js is not a stub");
    }

    #[test]
    fn every_page_and_script_is_embedded_with_its_type() {
        for (path, kind) in [
            ("widget.js", "text/javascript; charset=utf-8"),
            ("demo.html", "text/html; charset=utf-8"),
            ("console/index.html", "text/html; charset=utf-8"),
        ] {
            let asset = get(path).unwrap_or_else(|| panic!("{path} is embedded"));
            assert_eq!(asset.content_type, kind, "{path}");
        }
    }

    #[test]
    fn compressed_bodies_decompress_to_the_file() {
        let asset = get("widget.js").unwrap();
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &asset.brotli[..], &mut plain).unwrap();
        assert_eq!(plain, asset.identity);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&asset.gzip[..]),
            &mut plain,
        )
        .unwrap();
        assert_eq!(plain, asset.identity);
        assert!(asset.brotli.len() < asset.identity.len() / 2);
    }

    #[test]
    fn brotli_is_preferred_and_q_zero_refuses() {
        let pick = |v| preferred_encoding(&with(header::ACCEPT_ENCODING, v));
        assert_eq!(pick("gzip, deflate, br"), Encoding::Brotli);
        assert_eq!(pick("gzip, br;q=0"), Encoding::Gzip);
        assert_eq!(pick("identity"), Encoding::Identity);
        assert_eq!(preferred_encoding(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let asset = get("widget.js").unwrap();
        let response = respond(
            asset,
            &with(header::IF_NONE_MATCH, &format!("\"x\", {}", asset.etag)),
            Caching::Short,
        );
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        let response = respond(asset, &with(header::IF_NONE_MATCH, "\"x\""), Caching::Short);
        assert_eq!(response.status(), StatusCode::OK);
    }
}
