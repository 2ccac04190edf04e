//! Admin API tokens (`Authorization: Bearer`) and the first-run setup link.
use actix_web::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, assert_problem, spawn_app_without_admin};
use crate::on_both_backends;

async fn with_bearer(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str())];
    match (method, body) {
        ("GET", _) => app.get(path, &headers).await,
        ("POST", Some(b)) => app.post(path, &b, &headers).await,
        ("DELETE", _) => {
            let req = app.client.delete(app.url(path)).insert_header(("authorization", auth.clone()));
            let res = req.send().await.unwrap();
            Answer {
                status: res.status(),
                content_type: String::new(),
                retry_after: None,
                set_cookie: vec![],
                body: Value::Null,
            }
        }
        other => panic!("no request {other:?}"),
    }
}

async fn new_token(app: &TestApp, name: &str, role: &str, days: u32) -> Value {
    let a = app.admin_post("/api/admin/tokens", &json!({ "name": name, "role": role, "expires_in_days": days })).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.body
}

async fn audit(app: &TestApp) -> Vec<Value> {
    let a = app.admin_get("/api/admin/audit?limit=1000").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body.as_array().unwrap().clone()
}

async fn a_token_works_on_admin_routes_without_session_or_csrf(app: TestApp) {
    let made = new_token(&app, "ci-deploy", "admin", 30).await;
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("urna_") && token.len() == 5 + 64, "{token}");
    let expires: chrono::DateTime<Utc> = made["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires - (Utc::now() + Duration::days(30))).num_seconds().abs() < 60, "{expires}");
    assert_eq!((made["name"].as_str(), made["role"].as_str()), (Some("ci-deploy"), Some("admin")));

    // Only a hash is stored.
    let row =
        entity::api_tokens::Entity::find_by_id(made["id"].as_i64().unwrap()).one(&app.state.db).await.unwrap().unwrap();
    assert_ne!(row.token_hash, token);
    assert!(!row.token_hash.contains(&token[5..]));

    // Reads and writes, with no cookie and no CSRF token.
    assert_eq!(with_bearer(&app, "GET", "/api/admin/polls", &token, None).await.status, StatusCode::OK);
    let poll =
        json!({ "slug": "by-token", "title": "Made by a token", "options": [{ "label": "A" }, { "label": "B" }] });
    let a = with_bearer(&app, "POST", "/api/admin/polls", &token, Some(poll)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let me = with_bearer(&app, "GET", "/api/admin/me", &token, None).await;
    assert_eq!((me.body["username"].as_str(), me.body["role"].as_str()), (Some("token:ci-deploy"), Some("admin")));

    // The audit log names the token for its action and for each use.
    let log = audit(&app).await;
    let created = log.iter().find(|e| e["action"] == "poll.create").unwrap();
    assert_eq!(created["actor"], "token:ci-deploy");
    let uses: Vec<&Value> = log.iter().filter(|e| e["action"] == "token.use").collect();
    assert_eq!(uses.len(), 3, "{uses:?}");
    assert!(uses.iter().all(|e| e["actor"] == "token:ci-deploy"));
    assert!(uses.iter().any(|e| e["detail"]["method"] == "POST" && e["detail"]["path"] == "/api/admin/polls"));
    let made_row = log.iter().find(|e| e["action"] == "token.create").unwrap();
    assert_eq!((made_row["actor"].as_str(), made_row["detail"]["name"].as_str()), (Some("admin"), Some("ci-deploy")));
    assert!(!serde_json::to_string(&log).unwrap().contains(&token), "the token itself is never logged");

    // A person's own account is not the token's.
    let a = with_bearer(
        &app,
        "POST",
        "/api/admin/password",
        &token,
        Some(json!({ "current_password": "x", "new_password": "y" })),
    )
    .await;
    assert_problem(&a, 403, "session-required");

    // The list shows it without the token, with its last use.
    let list = app.admin_get("/api/admin/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    let listed = &list.body.as_array().unwrap()[0];
    assert_eq!((listed["name"].as_str(), listed["created_by"].as_str()), (Some("ci-deploy"), Some("admin")));
    assert!(listed.get("token").is_none() && listed["last_used_at"].is_string(), "{listed}");

    // Revoked: refused at once; a second revoke finds nothing.
    let id = made["id"].as_i64().unwrap();
    assert_eq!(app.admin_delete(&format!("/api/admin/tokens/{id}")).await.status, StatusCode::NO_CONTENT);
    let a = with_bearer(&app, "GET", "/api/admin/polls", &token, None).await;
    assert_problem(&a, 401, "api-token-invalid");
    assert_problem(&app.admin_delete(&format!("/api/admin/tokens/{id}")).await, 404, "token-not-found");
    let log = audit(&app).await;
    assert!(log.iter().any(|e| e["action"] == "token.revoke" && e["target"] == format!("token:{id}")));
}
on_both_backends!(admin_tokens_work_without_a_session, super::a_token_works_on_admin_routes_without_session_or_csrf);

async fn tokens_are_refused_when_wrong_expired_or_read_only(app: TestApp) {
    let viewer = new_token(&app, "dashboard", "viewer", 1).await["token"].as_str().unwrap().to_owned();
    assert_eq!(with_bearer(&app, "GET", "/api/admin/audit", &viewer, None).await.status, StatusCode::OK);
    let poll = json!({ "slug": "nope", "title": "No", "options": [{ "label": "A" }, { "label": "B" }] });
    assert_problem(&with_bearer(&app, "POST", "/api/admin/polls", &viewer, Some(poll)).await, 403, "read-only-role");

    // Unknown, malformed and other schemes: 401 with a Bearer challenge,
    // never a fall back to a cookie sent beside it.
    for header in ["Bearer urna_0000", "Bearer ", "Basic YWRtaW46eA==", "urna_abc"] {
        let mut res = app
            .client
            .get(app.url("/api/admin/polls"))
            .insert_header(("authorization", header))
            .insert_header(("cookie", app.admin_cookie.as_str()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
        let challenge = res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{header}: {challenge}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "api-token-invalid");
    }

    // Expired.
    entity::api_tokens::Entity::update_many()
        .col_expr(entity::api_tokens::Column::ExpiresAt, Expr::value(Utc::now() - Duration::seconds(1)))
        .filter(entity::api_tokens::Column::Name.eq("dashboard"))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_problem(&with_bearer(&app, "GET", "/api/admin/audit", &viewer, None).await, 401, "api-token-invalid");

    // Bad requests for a token.
    for body in [
        json!({ "name": "x", "role": "admin", "expires_in_days": 0 }),
        json!({ "name": "x", "role": "admin", "expires_in_days": 366 }),
        json!({ "name": "  ", "role": "admin", "expires_in_days": 5 }),
        json!({ "name": "x".repeat(65), "role": "admin", "expires_in_days": 5 }),
        json!({ "name": "x", "role": "root", "expires_in_days": 5 }),
        json!({ "name": "x", "role": "admin" }),
    ] {
        assert_problem(&app.admin_post("/api/admin/tokens", &body).await, 422, "invalid-body");
    }
    // A session still needs its CSRF token to make one.
    let a = app
        .post(
            "/api/admin/tokens",
            &json!({ "name": "x", "role": "admin", "expires_in_days": 5 }),
            &[("cookie", app.admin_cookie.as_str())],
        )
        .await;
    assert_problem(&a, 403, "csrf-token-invalid");
}
on_both_backends!(bad_tokens_are_refused, super::tokens_are_refused_when_wrong_expired_or_read_only);

fn setup_token(app: &TestApp) -> String {
    let path = app.setup_path.as_deref().expect("a first run prints a setup link");
    path.strip_prefix("/admin/setup?token=").unwrap().to_owned()
}

async fn the_first_admin_comes_from_the_setup_link_once(backend: Backend) {
    let app = spawn_app_without_admin(backend).await;
    let token = setup_token(&app);
    let (status, _, page) = app.get_text(app.setup_path.as_deref().unwrap(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"setup\""), "the setup page renders");

    let body = |token: &str, password: &str| json!({ "token": token, "username": "founder", "password": password });
    let wrong = app.post("/api/admin/setup", &body("0".repeat(64).as_str(), "a long enough password"), &[]).await;
    assert_problem(&wrong, 403, "setup-link-invalid");
    assert_problem(&app.post("/api/admin/setup", &body(&token, "short"), &[]).await, 422, "password-too-short");

    let a = app.post("/api/admin/setup", &body(&token, "a long enough password"), &[]).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.body["username"], "founder");
    let cookie = a.set_cookie.iter().find(|c| c.starts_with("urna_session=")).unwrap().clone();
    let me = app.get("/api/admin/me", &[("cookie", cookie.as_str())]).await;
    assert_eq!((me.status, me.body["role"].as_str()), (StatusCode::OK, Some("admin")));

    // Spent: the same link, or any other, makes no second admin.
    let again = app
        .post(
            "/api/admin/setup",
            &json!({ "token": token, "username": "second", "password": "a long enough password" }),
            &[],
        )
        .await;
    assert_problem(&again, 403, "setup-link-invalid");
    assert_eq!(entity::admins::Entity::find().all(&app.state.db).await.unwrap().len(), 1);
    let log = app.get("/api/admin/audit", &[("cookie", cookie.as_str())]).await.body;
    let created = log.as_array().unwrap().iter().find(|e| e["action"] == "admin.create").unwrap();
    assert_eq!((created["actor"].as_str(), created["detail"]["username"].as_str()), (Some("setup"), Some("founder")));

    // Once an admin exists, a restart prints no link.
    assert!(app.another_instance(|_| {}).await.setup_path.is_none());
}

#[actix_web::test]
async fn setup_link_sqlite() {
    the_first_admin_comes_from_the_setup_link_once(Backend::Sqlite).await;
}

#[actix_web::test]
async fn setup_link_postgres() {
    the_first_admin_comes_from_the_setup_link_once(Backend::Postgres).await;
}

#[actix_web::test]
async fn a_setup_link_dies_after_an_hour_and_when_an_admin_is_made_another_way() {
    let app = spawn_app_without_admin(Backend::Sqlite).await;
    let token = setup_token(&app);
    entity::setup_tokens::Entity::update_many()
        .col_expr(entity::setup_tokens::Column::ExpiresAt, Expr::value(Utc::now() - Duration::seconds(1)))
        .exec(&app.state.db)
        .await
        .unwrap();
    let body = json!({ "token": token, "username": "late", "password": "a long enough password" });
    assert_problem(&app.post("/api/admin/setup", &body, &[]).await, 403, "setup-link-invalid");

    let other = app.another_instance(|_| {}).await;
    let fresh = setup_token(&other);
    // The expired link is forgotten when a new one is made.
    let stored = entity::setup_tokens::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 1, "only the new link is kept");
    let hash = urna::admin::hash_password("a long enough password").unwrap();
    urna::db::mutation::create_admin(&app.state.db, "by-cli", &hash, "admin").await.unwrap();
    let body = json!({ "token": fresh, "username": "late", "password": "a long enough password" });
    assert_problem(&app.post("/api/admin/setup", &body, &[]).await, 403, "setup-link-invalid");
}
