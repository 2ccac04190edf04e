use serde_json::json;

use crate::helpers::{TestApp, assert_problem, option_ids};
use crate::on_both_backends;

async fn bad_votes(app: TestApp) {
    let poll = app.open_poll("p", json!({})).await;
    let option = option_ids(&poll)[0];
    let two = app
        .open_poll(
            "two",
            json!({ "tracks": [{"name": "a", "dedupe": "unlimited"}, {"name": "b", "dedupe": "unlimited"}] }),
        )
        .await;
    let votes = "/api/polls/p/votes";
    assert_problem(&app.post_raw(votes, "application/json", "{\"option_id\": ").await, 400, "malformed-json");
    assert_problem(&app.post_raw(votes, "application/json", "not json").await, 400, "malformed-json");
    assert_problem(
        &app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}, \"extra\": 1}}")).await,
        422,
        "invalid-body",
    );
    assert_problem(&app.post_raw(votes, "application/json", "{\"option_id\": \"one\"}").await, 422, "invalid-body");
    // No ballot at all: this poll's kind says which field it needs.
    assert_problem(&app.post_raw(votes, "application/json", "{}").await, 422, "wrong-ballot-kind");
    let both = format!("{{\"option_id\": {option}, \"option_ids\": [{option}]}}");
    assert_problem(&app.post_raw(votes, "application/json", both).await, 422, "wrong-ballot-kind");
    assert_problem(&app.post_raw(votes, "application/json", "[]").await, 422, "invalid-body");
    // An array in the fields' order is not an object either.
    assert_problem(&app.post_raw(votes, "application/json", format!("[{option}]")).await, 422, "invalid-body");
    // A whole number written as a float is a whole number; a fraction is not.
    let float = app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}.0}}")).await;
    assert_eq!(float.status.as_u16(), 200, "{:?}", float.body);
    assert_problem(
        &app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}.5}}")).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.post_raw(votes, "text/plain", format!("{{\"option_id\": {option}}}")).await,
        415,
        "unsupported-media-type",
    );
    let huge = format!("{{\"option_id\": {option}, \"track\": \"{}\"}}", "x".repeat(100_000));
    assert_problem(&app.post_raw(votes, "application/json", huge).await, 413, "payload-too-large");
    assert_problem(&app.vote("nope", json!({ "option_id": option }), &[]).await, 404, "poll-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": 999_999 }), &[]).await, 404, "option-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": option, "track": "ghost" }), &[]).await, 404, "track-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": option, "track": 999_999 }), &[]).await, 404, "track-not-found");
    assert_problem(&app.vote("two", json!({ "option_id": option_ids(&two)[0] }), &[]).await, 422, "track-required");
    // An option of another poll is not an option of this one.
    assert_problem(&app.vote("two", json!({ "option_id": option, "track": "a" }), &[]).await, 404, "option-not-found");
    // Wrong method and unknown routes are problems too.
    assert_problem(&app.get(votes, &[]).await, 405, "method-not-allowed");
    let res = app.client.get(app.url(votes)).send().await.unwrap();
    assert_eq!(res.headers().get("allow").map(|v| v.to_str().unwrap()), Some("POST"), "a 405 says what is allowed");
    let res = app.client.put(app.url("/api/admin/polls/1")).send().await.unwrap();
    assert_eq!(res.headers().get("allow").map(|v| v.to_str().unwrap()), Some("GET, PATCH, DELETE"));
    assert_problem(&app.get("/api/nothing/here", &[]).await, 404, "route-not-found");
    // None of it counted, but the one whole float.
    assert_eq!(app.results("p").await["total_votes"], 1);
}
on_both_backends!(every_bad_vote_gets_a_problem_json_4xx_and_counts_nothing, super::bad_votes);

async fn bad_polls(app: TestApp) {
    let ok = |extra: serde_json::Value| {
        let mut b = json!({ "slug": "ok", "title": "T", "options": [{"label": "a"}, {"label": "b"}] });
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "slug": "Bad Slug" }))).await, 422, "invalid-body");
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "title": "" }))).await, 422, "invalid-body");
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "options": [{"label": "only"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "options": [{"label": "a"}, {"label": "A"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "options": [{"label": "a"}, {"label": "b", "image_url": "javascript:x"}] })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "tracks": [] }))).await, 422, "invalid-body");
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "tracks": [{"name": "a", "dedupe": "sometimes"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "tracks": [{"name": "a", "dedupe": "unlimited", "weight": 0}] })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "results_visibility": "public" }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z" })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "opens_at": "tomorrow" }))).await,
        422,
        "invalid-body",
    );
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "surprise": true }))).await, 422, "invalid-body");
    assert_eq!(app.admin_post("/api/admin/polls", &ok(json!({}))).await.status.as_u16(), 201);
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({}))).await, 409, "slug-taken");
    assert_problem(&app.admin_get("/api/admin/polls/not-a-number").await, 404, "bad-path");
    assert_problem(&app.admin_post("/api/admin/polls/424242/open", &json!({})).await, 404, "poll-not-found");
    assert_problem(&app.admin_patch("/api/admin/polls/424242", &json!({ "title": "x" })).await, 404, "poll-not-found");
    // An edit that is an array, not an object, changes nothing.
    let created = app.admin_get("/api/admin/polls").await.body[0]["id"].as_i64().unwrap();
    assert_problem(
        &app.admin_patch(&format!("/api/admin/polls/{created}"), &json!([null, null])).await,
        422,
        "invalid-body",
    );
}
on_both_backends!(every_bad_poll_definition_gets_a_problem_json_4xx, super::bad_polls);
