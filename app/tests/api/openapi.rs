//! The OpenAPI document covers every route the server has, and only those.
use actix_web::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

/// Sends `method` to `path` with placeholders filled; the status and the
/// problem's code and detail, if any.
async fn probe(app: &crate::helpers::TestApp, method: &str, path: &str) -> (StatusCode, String) {
    let concrete = path.replace("{slug}", "no-such-poll").replace("{id}", "999999");
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut res = app.client.request(method, app.url(&concrete)).send().await.unwrap();
    let body: Value = res.json().limit(1 << 20).await.unwrap_or_default();
    (res.status(), body["detail"].as_str().unwrap_or_default().to_owned())
}

#[actix_web::test]
async fn every_public_and_admin_route_is_in_the_openapi_document() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let doc = app.get("/api/openapi.json", &[]).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    let registered = urna::http::registered_paths();
    assert!(registered.len() >= 20, "only {registered:?}");
    for path in &registered {
        let Some(entry) = paths.get(*path) else { panic!("{path} is routed but not in /api/openapi.json") };
        for method in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
            let (status, _) = probe(&app, method, path).await;
            let documented = entry.get(method.to_ascii_lowercase()).is_some();
            assert_eq!(
                status != StatusCode::METHOD_NOT_ALLOWED,
                documented,
                "{method} {path}: answers {status}, documented: {documented}"
            );
        }
    }
    // And nothing is documented that the server does not route.
    for (path, entry) in paths {
        for method in entry
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "post", "patch", "put", "delete"].contains(&k.as_str()))
        {
            let (status, detail) = probe(&app, &method.to_ascii_uppercase(), path).await;
            assert!(
                detail != "no such route" && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but answers {status} {detail}"
            );
        }
    }
    assert!(doc.body["components"]["schemas"]["VoteBody"].is_object(), "request bodies carry their schema");
    // Every reference points at something the document defines.
    let mut refs = Vec::new();
    collect_refs(&doc.body, &mut refs);
    assert!(refs.iter().any(|r| r.starts_with("#/components/responses/")), "{refs:?}");
    for r in refs {
        let target = r.strip_prefix('#').unwrap().split('/').skip(1).fold(&doc.body, |v, key| &v[key]);
        assert!(target.is_object(), "{r} does not resolve");
    }
    // A path parameter is in the path.
    for (path, entry) in paths {
        for op in entry.as_object().unwrap().values() {
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap();
                assert!(path.contains(&format!("{{{name}}}")), "{path}: `{name}` is documented in the path");
            }
        }
    }
    // Operation ids are unique, and every link leads to one of them.
    let ops: Vec<&Value> = paths.values().flat_map(|e| e.as_object().unwrap().values()).collect();
    let mut ids: Vec<&str> = ops.iter().filter_map(|op| op["operationId"].as_str()).collect();
    assert_eq!(ids.len(), ops.len(), "an operation without an id");
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "duplicate operation ids: {ids:?}");
    let mut links = 0;
    for op in &ops {
        for response in op["responses"].as_object().unwrap().values() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap();
                assert!(ids.contains(&target), "link {name} leads to unknown operation {target}");
                links += 1;
            }
        }
    }
    assert!(links >= 10, "only {links} links");
    // A body can be refused before its handler runs, and that is documented.
    let vote = &paths["/api/admin/polls/{id}"]["patch"]["responses"];
    for code in ["400", "413", "415"] {
        assert!(vote[code].is_object(), "PATCH /api/admin/polls/{{id}} does not document {code}");
    }
    // The results stream documents one event: its name and its JSON data.
    let stream = &paths["/api/polls/{slug}/results/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    assert_eq!(stream["schema"]["properties"]["data"]["contentMediaType"], "application/json");
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn the_api_is_browsable_without_downloads() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let (status, ct, html) = app.get_text("/api/docs/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("swagger-ui"), "{html}");
    let (status, _, js) = app.get_text("/api/docs/swagger-ui-bundle.js", &[]).await;
    assert_eq!(status, StatusCode::OK, "the UI's assets are served from the binary");
    assert!(js.len() > 100_000);
}
