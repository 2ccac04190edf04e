//! The site's files under `/pkg`. A built site (scripts/build-site.sh) has
//! content-hashed names listed in `pkg/manifest.json`, each with brotli and
//! gzip copies made at build time: they are held in memory and served with
//! `Cache-Control: public, max-age=31536000, immutable`, in the encoding the
//! browser takes best, and `304` to a matching `If-None-Match`. Without a
//! manifest (a site from an older build, tests) the files are served from
//! disk as they are.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::http::ApiError;

/// One hashed file and its compressed copies.
struct Packed {
    content_type: &'static str,
    etag: String,
    identity: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// The site's hashed files, by name, and the names pages link to.
#[derive(Clone, Default)]
pub struct Assets {
    files: Arc<HashMap<String, Packed>>,
    dir: Arc<str>,
    pub names: frontend::AssetNames,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

impl Assets {
    /// Reads `pkg/manifest.json` and every file it names into memory; plain
    /// names (and files read from disk) when there is no manifest.
    pub fn load(pkg: &Path) -> anyhow::Result<Self> {
        let dir: Arc<str> = pkg.to_string_lossy().into();
        let Ok(manifest) = std::fs::read(pkg.join("manifest.json")) else {
            return Ok(Assets { dir, ..Default::default() });
        };
        let manifest: HashMap<String, String> = serde_json::from_slice(&manifest)?;
        let mut files = HashMap::new();
        for hashed in manifest.values() {
            let read = |suffix: &str| std::fs::read(pkg.join(format!("{hashed}{suffix}"))).ok().map(Bytes::from);
            let identity = read("").ok_or_else(|| anyhow::anyhow!("{hashed} is in the manifest but not in {dir}"))?;
            let hash = hashed.rsplit('.').nth(1).unwrap_or_default();
            let packed = Packed {
                content_type: content_type(hashed),
                etag: format!("\"{hash}\""),
                identity,
                br: read(".br"),
                gzip: read(".gz"),
            };
            files.insert(hashed.clone(), packed);
        }
        let name = |plain: &str| manifest.get(plain).map(|h| format!("/pkg/{h}"));
        let plain = frontend::AssetNames::default();
        let names = frontend::AssetNames {
            css: name("urna.css").unwrap_or(plain.css),
            boot: name("boot.js").unwrap_or(plain.boot),
            pow_worker: name("pow-worker.js").unwrap_or(plain.pow_worker),
        };
        Ok(Assets { files: Arc::new(files), dir, names })
    }
}

/// `GET /pkg/{name}`.
pub async fn serve(
    req: HttpRequest,
    name: web::Path<String>,
    assets: web::Data<Assets>,
) -> Result<HttpResponse, ApiError> {
    let Some(file) = assets.files.get(name.as_str()) else {
        // A plain name: from disk, revalidated (never cached for long).
        if name.contains("..") || name.starts_with('.') {
            return Err(ApiError::RouteNotFound);
        }
        let path = Path::new(&*assets.dir).join(name.as_str());
        let file = actix_files::NamedFile::open_async(path).await.map_err(|_| ApiError::RouteNotFound)?;
        return Ok(file.use_etag(true).use_last_modified(true).into_response(&req));
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::ETAG, file.etag.clone()))
        .insert_header((header::VARY, "Accept-Encoding"));
    let matches =
        req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == file.etag || tag.trim() == "*")
        });
    if matches {
        return Ok(res.status(actix_web::http::StatusCode::NOT_MODIFIED).finish());
    }
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(file.content_type)));
    let body = crate::http::encoding::encoded(&req, &mut res, &file.identity, file.br.as_ref(), file.gzip.as_ref());
    Ok(res.body(body))
}
