use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{ADMIN, TestApp, assert_problem, option_ids};
use crate::on_both_backends;

async fn lifecycle(app: TestApp) {
    let created = app
        .create_poll(json!({
            "slug": "finale",
            "title": "Grand finale",
            "description": "Who wins?",
            "options": [{"label": "Ana", "image_url": "https://example.com/ana.jpg"}, {"label": "Bia"}],
            "tracks": [{"name": "unico", "dedupe": "one_per_voter", "weight": 70}, {"name": "torcida", "dedupe": "unlimited", "weight": 30}],
            "results_visibility": "live",
        }))
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["options"][0]["image_url"], "https://example.com/ana.jpg");
    assert!(created["tracks"][1]["id"].as_i64().is_some());
    // A draft is invisible to the public.
    assert_problem(&app.get("/api/polls/finale", &[]).await, 404, "poll-not-found");

    let patched = app
        .admin_patch(
            &format!("/api/admin/polls/{id}"),
            &json!({ "title": "Finale", "options": [{"label": "Ana"}, {"label": "Bia"}, {"label": "Caio"}] }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["title"], "Finale");
    assert_eq!(option_ids(&patched.body).len(), 3);

    let list = app.admin_get("/api/admin/polls").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    let opened = app.admin_post(&format!("/api/admin/polls/{id}/open"), &json!({})).await;
    assert_eq!(opened.body["status"], "open");
    assert_eq!(app.get("/api/polls/finale", &[]).await.body["status"], "open");
    // Options cannot change once votes may have been counted.
    let a = app
        .admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "options": [{"label": "X"}, {"label": "Y"}] }))
        .await;
    assert_problem(&a, 409, "ballot-locked");
    assert_problem(&app.admin_delete(&format!("/api/admin/polls/{id}")).await, 409, "poll-still-open");

    let closed = app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(closed.body["status"], "closed");
    assert_problem(&app.admin_post(&format!("/api/admin/polls/{id}/open"), &json!({})).await, 409, "cannot-reopen");
    assert_eq!(app.admin_delete(&format!("/api/admin/polls/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get("/api/polls/finale", &[]).await, 404, "poll-not-found");
    assert_problem(&app.admin_get(&format!("/api/admin/polls/{id}")).await, 404, "poll-not-found");

    let audit = app.admin_get("/api/admin/audit").await;
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["poll.create", "poll.update", "poll.open", "poll.close", "poll.delete", "admin.login"] {
        assert!(actions.contains(&expected), "{expected} missing from the audit log: {actions:?}");
    }
    assert!(audit.body.as_array().unwrap().iter().any(|e| e["actor"] == ADMIN));
}
on_both_backends!(an_admin_creates_edits_opens_closes_and_deletes_a_poll_and_each_step_is_audited, super::lifecycle);

async fn access(app: TestApp) {
    let body = json!({ "slug": "x", "title": "X", "options": [{"label": "a"}, {"label": "b"}] });
    assert_problem(&app.get("/api/admin/polls", &[]).await, 401, "not-logged-in");
    assert_problem(&app.post("/api/admin/polls", &body, &[]).await, 401, "not-logged-in");
    // A session without the CSRF token cannot change anything.
    assert_problem(
        &app.post("/api/admin/polls", &body, &[("cookie", &app.admin_cookie)]).await,
        403,
        "csrf-token-invalid",
    );
    assert_problem(
        &app.post("/api/admin/polls", &body, &[("cookie", &app.admin_cookie), ("x-csrf-token", "nope")]).await,
        403,
        "csrf-token-invalid",
    );
    assert_problem(
        &app.post("/api/admin/login", &json!({ "username": ADMIN, "password": "wrong" }), &[]).await,
        401,
        "login-failed",
    );
    assert_problem(
        &app.post("/api/admin/login", &json!({ "username": "ghost", "password": "x" }), &[]).await,
        401,
        "login-failed",
    );

    // Viewers read but do not write.
    let hash = urna::admin::hash_password("viewer password 123").unwrap();
    urna::db::mutation::create_admin(&app.state.db, "watcher", &hash, "viewer").await.unwrap();
    let (cookie, csrf) = app.login("watcher", "viewer password 123").await;
    assert_eq!(app.get("/api/admin/polls", &[("cookie", &cookie)]).await.status, StatusCode::OK);
    assert_problem(
        &app.post("/api/admin/polls", &body, &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await,
        403,
        "read-only-role",
    );

    // The session cookie is HttpOnly and SameSite=Strict.
    let res = app
        .client
        .post(app.url("/api/admin/login"))
        .send_json(&json!({ "username": ADMIN, "password": crate::helpers::ADMIN_PASSWORD }))
        .await
        .unwrap();
    let set = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");

    // Logging out ends the session.
    let out = app.post("/api/admin/logout", &json!({}), &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get("/api/admin/polls", &[("cookie", &cookie)]).await, 401, "not-logged-in");
}
on_both_backends!(admin_routes_need_a_session_a_csrf_token_and_the_admin_role, super::access);
