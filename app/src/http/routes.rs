//! Every route of the server, registered room by room: the vote route
//! first (routes are tried in order, and each dynamic one costs a pattern
//! match), then the read side, the admin API and operations. The web UI's
//! pages are registered after these, by `crate::web`.
use actix_web::web;

use std::collections::HashMap;

use actix_web::http::Method;

use super::resource::{MAX_JSON_BYTES, json_error, not_found, path_error, query_error, set_allowed};

/// Registers every API route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    set_allowed(allowed_methods());
    let json = web::JsonConfig::default().limit(MAX_JSON_BYTES).error_handler(json_error);
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(json)
        .configure(crate::vote::routes)
        .configure(crate::ops::routes)
        .configure(crate::read::routes)
        .configure(crate::verify::routes)
        .configure(crate::admin::routes)
        .service(super::openapi::browser())
        .default_service(web::to(not_found));
}

/// Each documented path's methods, from the OpenAPI document.
fn allowed_methods() -> HashMap<String, Vec<Method>> {
    let doc = super::openapi::document();
    let Ok(json) = serde_json::to_value(&doc) else { return HashMap::new() };
    let mut allowed = HashMap::new();
    for (path, item) in json.get("paths").and_then(|p| p.as_object()).into_iter().flatten() {
        let methods = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE]
            .into_iter()
            .filter(|m| item.get(m.as_str().to_ascii_lowercase()).is_some())
            .collect();
        allowed.insert(path.clone(), methods);
    }
    allowed
}
