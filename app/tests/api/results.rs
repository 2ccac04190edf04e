use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, option_ids, voter_token};
use crate::on_both_backends;

/// Reads SSE events until one satisfies `want`, or fails after 5 s.
pub async fn next_matching(
    stream: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin),
    buf: &mut String,
    want: impl Fn(&Value) -> bool,
) -> Value {
    next_matching_within(stream, buf, Duration::from_secs(5), want).await
}

/// Reads SSE events until one satisfies `want`, or fails after `within`.
pub async fn next_matching_within(
    stream: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin),
    buf: &mut String,
    within: Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                let v: Value = serde_json::from_str(data).unwrap();
                if want(&v) {
                    return v;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no matching event within {within:?}"))
            .expect("stream ended")
            .unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn live_stream(app: TestApp) {
    let poll = app.open_poll("live", json!({})).await;
    let option = option_ids(&poll)[2];
    let mut res = app.client.get(app.url("/api/polls/live/results/stream")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("content-type").unwrap(), "text/event-stream");
    let mut buf = String::new();
    let first = next_matching(&mut res, &mut buf, |_| true).await;
    assert_eq!(first["total_votes"], 0);
    for _ in 0..3 {
        assert_eq!(app.vote("live", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    }
    let v = next_matching(&mut res, &mut buf, |v| v["total_votes"] == 3).await;
    assert_eq!(v["tracks"][0]["options"][2]["votes"], 3);
    assert!(v["as_of"].is_string(), "the snapshot says which commit it reflects");
}
on_both_backends!(the_results_stream_pushes_new_totals_after_each_commit, super::live_stream);

async fn weighted(app: TestApp) {
    let poll = app
        .open_poll(
            "bbb",
            json!({
                "options": [{"label": "Ana"}, {"label": "Bia"}],
                "tracks": [
                    {"name": "unico", "dedupe": "one_per_voter", "weight": 70},
                    {"name": "torcida", "dedupe": "unlimited", "weight": 30}
                ],
                "voter_identity": "token"
            }),
        )
        .await;
    let [ana, bia] = option_ids(&poll)[..] else { panic!("two options") };
    // Voto único: 3 for Ana, 1 for Bia (75 / 25).
    for (i, opt) in [ana, ana, ana, bia].iter().enumerate() {
        let t = voter_token(&format!("voter{i}"));
        let a = app.vote("bbb", json!({ "option_id": opt, "track": "unico" }), &[("x-voter-token", &t)]).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
    // Torcida: 1 for Ana, 9 for Bia (10 / 90), by track id this time.
    let torcida = poll["tracks"][1]["id"].as_i64().unwrap();
    for opt in std::iter::once(ana).chain(std::iter::repeat_n(bia, 9)) {
        assert_eq!(app.vote("bbb", json!({ "option_id": opt, "track": torcida }), &[]).await.status, StatusCode::OK);
    }
    let r = app.results("bbb").await;
    assert_eq!(r["total_votes"], 14);
    assert_eq!(r["tracks"][0]["options"][0]["percent"], 75.0);
    assert_eq!(r["tracks"][1]["options"][1]["percent"], 90.0);
    // 0.7 × 75 + 0.3 × 10 = 55.5 for Ana; 0.7 × 25 + 0.3 × 90 = 44.5 for Bia.
    assert_eq!(r["weighted"][0]["percent"], 55.5);
    assert_eq!(r["weighted"][1]["percent"], 44.5);
}
on_both_backends!(a_seventy_thirty_dual_track_poll_reports_each_track_and_the_weighted_result, super::weighted);

async fn visibility(app: TestApp) {
    let poll = app.open_poll("secret", json!({ "results_visibility": "after_close" })).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    assert_eq!(app.vote("secret", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    assert_problem(&app.get("/api/polls/secret/results", &[]).await, 403, "results-hidden-until-close");
    assert_problem(&app.get("/api/polls/secret/results/stream", &[]).await, 403, "results-hidden-until-close");
    // An admin may look while it is open.
    let a = app.get("/api/polls/secret/results", &[("cookie", &app.admin_cookie)]).await;
    assert_eq!(a.body["total_votes"], 1);
    app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(app.results("secret").await["total_votes"], 1);

    let hidden = app.open_poll("hidden", json!({ "results_visibility": "admin_only" })).await;
    let hid = hidden["id"].as_i64().unwrap();
    app.admin_post(&format!("/api/admin/polls/{hid}/close"), &json!({})).await;
    assert_problem(&app.get("/api/polls/hidden/results", &[]).await, 403, "results-admin-only");
}
on_both_backends!(results_are_shown_only_as_the_poll_visibility_allows, super::visibility);

async fn after_vote(app: TestApp) {
    let poll = app.open_poll("after", json!({ "results_visibility": "after_vote" })).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    let other = app.open_poll("other", json!({ "results_visibility": "after_vote" })).await;
    assert_problem(&app.get("/api/polls/after/results", &[]).await, 403, "results-hidden-until-vote");

    // A vote's answer carries this poll's mark; with it the voter sees the
    // results and the stream.
    let a = app.vote("after", json!({ "option_id": option }), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    let name = format!("urna_voted_{id}=");
    let mark = a.set_cookie.iter().find(|c| c.starts_with(&name)).expect("a voted cookie").clone();
    let seen = app.get("/api/polls/after/results", &[("cookie", &mark)]).await;
    assert_eq!((seen.status, seen.body["total_votes"].as_i64()), (StatusCode::OK, Some(1)));
    let stream = app.client.get(app.url("/api/polls/after/results/stream")).insert_header(("cookie", mark.as_str()));
    let stream = stream.send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK, "the voter may follow the stream");
    drop(stream);
    assert_problem(&app.get("/api/polls/after/results/stream", &[]).await, 403, "results-hidden-until-vote");

    // Not for another poll, not forged, not from a poll that shows live.
    let other_mark = mark.replace(&format!("urna_voted_{id}="), &format!("urna_voted_{}=", other["id"]));
    assert_problem(
        &app.get("/api/polls/other/results", &[("cookie", &other_mark)]).await,
        403,
        "results-hidden-until-vote",
    );
    let forged = format!("urna_voted_{id}={}.{}", "0".repeat(32), "0".repeat(64));
    assert_problem(
        &app.get("/api/polls/after/results", &[("cookie", &forged)]).await,
        403,
        "results-hidden-until-vote",
    );
    let live = app.open_poll("shown", json!({})).await;
    let a = app.vote("shown", json!({ "option_id": option_ids(&live)[0] }), &[]).await;
    assert!(a.set_cookie.iter().all(|c| !c.starts_with("urna_voted_")), "{:?}", a.set_cookie);

    // The no-JavaScript form's redirect carries the mark too.
    let client = awc::Client::builder().disable_redirects().finish();
    let form = client.post(app.url("/p/after/vote")).send_form(&[("option_id", option.to_string())]).await.unwrap();
    assert_eq!(form.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<&str> = form.headers().get_all("set-cookie").filter_map(|v| v.to_str().ok()).collect();
    assert!(cookies.iter().any(|c| c.starts_with(&name)), "{cookies:?}");

    // Closed: everyone sees them.
    app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(app.results("after").await["total_votes"], 2);
}
on_both_backends!(results_after_vote_are_shown_to_those_who_voted, super::after_vote);

async fn reveal(app: TestApp) {
    let poll = app.open_poll("finale", json!({ "results_visibility": "admin_only" })).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[1]);
    for _ in 0..3 {
        assert_eq!(app.vote("finale", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    }
    let reveal = format!("/api/admin/polls/{id}/reveal");
    assert_problem(&app.admin_post(&reveal, &json!({})).await, 409, "reveal-needs-close");
    app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_problem(&app.get("/api/polls/finale/results", &[]).await, 403, "results-admin-only");

    let before = chrono::Utc::now();
    let a = app.admin_post(&reveal, &json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let at: chrono::DateTime<chrono::Utc> = a.body["revealed_at"].as_str().unwrap().parse().unwrap();
    let lead = (at - before).num_milliseconds();
    assert!((2_500..=4_000).contains(&lead), "the reveal is set a few seconds ahead: {lead} ms");
    // Every presenter screen learns the moment from the public poll...
    assert_eq!(app.get("/api/polls/finale", &[]).await.body["revealed_at"], a.body["revealed_at"]);
    // ...and nobody gets the numbers before it.
    if chrono::Utc::now() < at - chrono::Duration::milliseconds(500) {
        assert_problem(&app.get("/api/polls/finale/results", &[]).await, 403, "results-admin-only");
    }
    crate::helpers::eventually(Duration::from_secs(8), "the results are public once revealed", || async {
        let r = app.get("/api/polls/finale/results", &[]).await;
        r.status == StatusCode::OK && r.body["total_votes"] == 3
    })
    .await;
    assert!(chrono::Utc::now() >= at, "not before the moment");
    assert_problem(&app.admin_post(&reveal, &json!({})).await, 409, "already-revealed");
    let audit = app.admin_get("/api/admin/audit").await.body;
    assert!(
        audit.as_array().unwrap().iter().any(|e| e["action"] == "poll.reveal" && e["target"] == format!("poll:{id}"))
    );
}
on_both_backends!(an_admin_reveals_hidden_results_at_one_moment, super::reveal);

#[actix_web::test]
async fn results_json_is_compressed_once_when_it_pays() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |_| {}).await;
    let options: Vec<Value> = (0..30).map(|i| json!({ "label": format!("Option number {i}") })).collect();
    app.open_poll("wide", json!({ "options": options })).await;
    app.open_poll("narrow", json!({})).await;
    let get = |slug: &'static str, accept: &'static str| {
        let req =
            app.client.get(app.url(&format!("/api/polls/{slug}/results"))).insert_header(("accept-encoding", accept));
        async move {
            let res = req.send().await.unwrap();
            let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            (h("content-encoding"), h("vary"))
        }
    };
    assert_eq!(get("wide", "gzip, br").await, (Some("br".into()), Some("Accept-Encoding".into())));
    assert_eq!(get("wide", "gzip").await.0.as_deref(), Some("gzip"));
    assert_eq!(get("wide", "br;q=0, identity").await.0, None);
    assert_eq!(get("narrow", "gzip, br").await.0, None, "a small answer is not worth compressing");
}
