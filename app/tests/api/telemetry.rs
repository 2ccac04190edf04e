use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, option_ids, voter_token};
use crate::on_both_backends;

/// The value of a counter line in Prometheus text, 0 if absent.
fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let mut res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8(res.body().await.unwrap().to_vec()).unwrap()
}

async fn metrics_and_ids(app: TestApp) {
    let poll = app
        .open_poll(
            "observed",
            json!({ "tracks": [{"name": "unico", "dedupe": "one_per_voter"}], "voter_identity": "token" }),
        )
        .await;
    let option = option_ids(&poll)[0];
    // The recorder is shared by every app in this test process: compare
    // before and after rather than absolute values.
    let before = scrape(&app).await;
    let token = voter_token("observer");
    assert_eq!(
        app.vote("observed", json!({ "option_id": option }), &[("x-voter-token", &token)]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.vote("observed", json!({ "option_id": option }), &[("x-voter-token", &token)]).await.status,
        StatusCode::CONFLICT
    );
    app.post_raw("/api/polls/observed/votes", "application/json", "{").await;
    let after = scrape(&app).await;
    let delta = |k: &str| metric(&after, k) - metric(&before, k);
    assert!(delta(r#"urna_votes_total{outcome="recorded"}"#) >= 1.0, "{after}");
    assert!(delta(r#"urna_votes_total{outcome="already-voted"}"#) >= 1.0);
    let route = r#"route="/api/polls/{slug}/votes""#;
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("urna_http_requests_total{") && l.contains(route) && l.contains(r#"status="409""#)),
        "requests by route and status: {after}"
    );
    assert!(after.contains(&format!("urna_http_request_duration_seconds_bucket{{{route},le=\"0.005\"}}")));
    assert!(after.contains("urna_flush_batch_votes_bucket"));
    assert!(after.contains("urna_pending_votes"));

    // A request id is echoed when given, made up when not.
    let res = app.client.get(app.url("/healthz")).insert_header(("x-request-id", "trace-me-42")).send().await.unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "trace-me-42");
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap().len(), 16);
}
on_both_backends!(
    metrics_count_votes_by_outcome_and_requests_by_route_and_every_answer_has_a_request_id,
    super::metrics_and_ids
);
