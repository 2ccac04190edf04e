use std::collections::BTreeMap;
use std::rc::Rc;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, eventually, option_ids};
use crate::on_both_backends;

const CLIENTS: usize = 200;
const VOTES_PER_CLIENT: usize = 100;

async fn twenty_thousand_votes(app: TestApp) {
    let poll = app.open_poll("big", json!({})).await;
    let options = option_ids(&poll);
    let app = Rc::new(app);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (app, options) = (app.clone(), options.clone());
        tasks.push(actix_web::rt::spawn(async move {
            // Each client keeps its own record of what was acknowledged.
            let mut acked: BTreeMap<i64, i64> = BTreeMap::new();
            let mut other = Vec::new();
            for i in 0..VOTES_PER_CLIENT {
                let option = options[(c + i) % options.len()];
                let a = app.vote("big", json!({ "option_id": option }), &[]).await;
                if a.status == StatusCode::OK && a.body["status"] == "recorded" {
                    *acked.entry(option).or_insert(0) += 1;
                } else {
                    other.push((a.status, a.body));
                }
            }
            (acked, other)
        }));
    }
    let mut acked: BTreeMap<i64, i64> = BTreeMap::new();
    for t in tasks {
        let (a, other) = t.await.unwrap();
        assert!(other.is_empty(), "not every vote was recorded: {:?}", &other[..other.len().min(3)]);
        for (k, v) in a {
            *acked.entry(k).or_insert(0) += v;
        }
    }
    let total: i64 = acked.values().sum();
    assert_eq!(total, (CLIENTS * VOTES_PER_CLIENT) as i64);

    // The results API and the database agree exactly with the clients.
    let results = app.results("big").await;
    assert_eq!(results["total_votes"], total);
    for o in results["tracks"][0]["options"].as_array().unwrap() {
        assert_eq!(o["votes"].as_i64(), acked.get(&o["option_id"].as_i64().unwrap()).copied());
    }
    assert_eq!(app.db_counts(poll["id"].as_i64().unwrap()).await, acked);
}
on_both_backends!(
    twenty_thousand_votes_from_200_concurrent_clients_are_all_recorded_and_counted,
    super::twenty_thousand_votes
);

async fn fast_mode(app: TestApp) {
    let poll = app.open_poll("fast", json!({ "ack": "fast" })).await;
    let option = option_ids(&poll)[1];
    for _ in 0..20 {
        let a = app.vote("fast", json!({ "option_id": option }), &[]).await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(a.body["status"], "accepted");
    }
    // Accepted votes land within a few flush intervals.
    eventually(std::time::Duration::from_secs(2), "every accepted vote being counted", || async {
        app.results("fast").await["total_votes"] == 20
    })
    .await;
}
on_both_backends!(fast_mode_answers_202_and_counts_every_vote_after_the_flush, super::fast_mode);

async fn full_queue(app: TestApp) {
    let poll = app.open_poll("busy", json!({})).await;
    let option = option_ids(&poll)[0];
    let app = Rc::new(app);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = app.clone();
            actix_web::rt::spawn(async move { app.vote("busy", json!({ "option_id": option }), &[]).await })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let a = t.await.unwrap();
        match a.status.as_u16() {
            200 => ok += 1,
            503 => {
                crate::helpers::assert_problem(&a, 503, "overloaded");
                assert_eq!(a.retry_after.as_deref(), Some("1"));
                busy += 1;
            }
            other => panic!("unexpected {other}: {:?}", a.body),
        }
    }
    assert!(busy > 0, "a queue of 2 never filled under 200 concurrent votes");
    assert!(ok > 0);
    // Only the acknowledged votes were counted.
    assert_eq!(app.results("busy").await["total_votes"], ok);
}
on_both_backends!(
    a_full_vote_queue_answers_503_with_retry_after_and_counts_only_what_it_acknowledged,
    super::full_queue,
    |s| s.flush.max_pending = 2
);
