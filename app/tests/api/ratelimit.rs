use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::cluster::within_one_window;
use crate::helpers::{TestApp, assert_problem, option_ids, redis_url, spawn_cluster, voter_token};
use crate::on_both_backends;

async fn per_voter_and_per_ip(app: TestApp) {
    within_one_window().await;
    let poll = app.open_poll("limited", json!({})).await;
    let option = option_ids(&poll)[0];
    let token = voter_token("eager");
    // Per voter: 5 a minute, even on an unlimited track.
    for _ in 0..5 {
        assert_eq!(
            app.vote("limited", json!({ "option_id": option }), &[("x-voter-token", &token)]).await.status,
            StatusCode::OK
        );
    }
    let a = app.vote("limited", json!({ "option_id": option }), &[("x-voter-token", &token)]).await;
    assert_problem(&a, 429, "rate-limited");
    let secs: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    // Per IP: 8 attempts a minute. Six were made (the refused one counts as
    // an attempt from this IP); another voter makes two more, then the IP is spent.
    let other = voter_token("calm");
    for _ in 0..2 {
        assert_eq!(
            app.vote("limited", json!({ "option_id": option }), &[("x-voter-token", &other)]).await.status,
            StatusCode::OK
        );
    }
    let a = app.vote("limited", json!({ "option_id": option }), &[]).await;
    assert_problem(&a, 429, "rate-limited");
    assert!(a.body["detail"].as_str().unwrap().contains("IP"));
    // Refused votes were not counted.
    assert_eq!(app.results("limited").await["total_votes"], 7);
}
on_both_backends!(
    votes_past_the_per_voter_or_per_ip_limit_get_429_with_retry_after,
    super::per_voter_and_per_ip,
    |s| {
        s.rate_limits = urna::settings::RateLimits { per_ip: 8, per_voter: 5 };
    }
);

#[actix_web::test]
async fn the_per_ip_limit_is_shared_by_all_instances() {
    const LIMIT: i64 = 40;
    let apps = spawn_cluster(3, &redis_url(), |s| {
        s.rate_limits = urna::settings::RateLimits { per_ip: LIMIT as u32, per_voter: 0 };
    })
    .await;
    within_one_window().await;
    let poll = apps[0].open_poll("shared-limit", json!({})).await;
    let option = option_ids(&poll)[0];
    let (mut ok, mut limited) = (0i64, 0i64);
    for i in 0..90 {
        let app = &apps[i % 3];
        let a = app.vote("shared-limit", json!({ "option_id": option }), &[]).await;
        match a.status.as_u16() {
            200 => ok += 1,
            429 => limited += 1,
            404 => {} // the poll had not reached this instance yet
            other => panic!("unexpected {other}: {:?}", a.body),
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    // Alone, each instance would admit 40: 90 votes would all pass. Shared,
    // the three admit the limit plus at most what one sync period lets by.
    assert!((LIMIT..=LIMIT + 6).contains(&ok), "admitted {ok} of 90 with a shared limit of {LIMIT}");
    assert!(limited >= 90 - LIMIT - 6 - 3);
}
