//! Telling people from scripts: proof of work per vote, single-use invite
//! codes, and exactly-once retries with `Idempotency-Key`.
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::StatusCode;
use base64::Engine;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, assert_problem, eventually, option_ids, redis_url, spawn_cluster};
use crate::on_both_backends;

/// Solves a challenge as a voter's device would, into an `X-Urna-Pow` value.
pub fn solve(c: &Value) -> String {
    let salt = c["salt"].as_str().unwrap();
    let target = c["challenge"].as_str().unwrap();
    let max = c["maxnumber"].as_u64().unwrap();
    let number = (0..=max).find(|n| hex::encode(Sha256::digest(format!("{salt}{n}"))) == target).expect("solvable");
    let payload = json!({
        "algorithm": c["algorithm"], "challenge": target, "number": number, "salt": salt, "signature": c["signature"],
    });
    base64::engine::general_purpose::STANDARD.encode(payload.to_string())
}

async fn solved(app: &TestApp, slug: &str) -> String {
    let c = app.get(&format!("/api/polls/{slug}/challenge"), &[]).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    solve(&c.body)
}

async fn proof_of_work(app: TestApp) {
    let poll = app.open_poll("pow", json!({ "pow": { "difficulty": 1000 } })).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    assert_eq!(poll["pow"], json!({ "difficulty": 1000 }));
    let vote = |headers: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.vote("pow", json!({ "option_id": option }), &h).await
        }
    };
    // No solution: told where to get a challenge.
    let a = vote(vec![]).await;
    assert_problem(&a, 403, "pow-required");
    assert_eq!(a.body["challenge"], "/api/polls/pow/challenge");

    let c = app.get("/api/polls/pow/challenge", &[]).await;
    assert_eq!(c.body["algorithm"], "SHA-256");
    assert_eq!(c.body["maxnumber"], 1000);
    assert!(c.body["salt"].as_str().unwrap().contains(&format!("poll={id}")), "{:?}", c.body);
    let good = solve(&c.body);
    assert_eq!(vote(vec![("x-urna-pow", good.clone())]).await.status, StatusCode::OK);
    // The same solution twice counts once.
    assert_problem(&vote(vec![("x-urna-pow", good)]).await, 403, "pow-reused");
    assert_problem(&vote(vec![("x-urna-pow", "bm90IGEgc29sdXRpb24=".into())]).await, 403, "pow-invalid");
    // A solution for another poll does not vote here.
    app.open_poll("pow-other", json!({ "pow": { "difficulty": 1000 } })).await;
    let elsewhere = solved(&app, "pow-other").await;
    assert_problem(&vote(vec![("x-urna-pow", elsewhere)]).await, 403, "pow-invalid");
    assert_eq!(app.results("pow").await["total_votes"], 1);

    // The setting changes live: off, then auto.
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "pow": "off" })).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["pow_difficulty_now"], Value::Null);
    assert_eq!(vote(vec![]).await.status, StatusCode::OK);
    assert_problem(&app.get("/api/polls/pow/challenge", &[]).await, 409, "pow-not-required");
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "pow": "auto" })).await;
    assert_eq!(a.body["pow"], "auto");
    assert_eq!(a.body["pow_difficulty_now"], 20_000);
    assert!(a.body["pow_phone_secs"].as_f64().unwrap() > 0.0);
    assert_problem(&vote(vec![]).await, 403, "pow-required");
    assert_eq!(app.get("/api/polls/pow/challenge", &[]).await.body["maxnumber"], 20_000);
    // Out-of-range difficulties are refused.
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "pow": { "difficulty": 5 } })).await;
    assert_problem(&a, 422, "invalid-body");
}
on_both_backends!(a_poll_with_proof_of_work_counts_each_solved_challenge_once, super::proof_of_work);

#[actix_web::test]
async fn one_solution_sent_to_three_instances_at_once_counts_once() {
    let apps = Rc::new(spawn_cluster(3, &redis_url(), |_| {}).await);
    let poll = apps[0].open_poll("pow-fleet", json!({ "pow": { "difficulty": 1000 } })).await;
    let option = option_ids(&poll)[0];
    for app in &apps[1..] {
        eventually(Duration::from_secs(2), "the poll reaching every instance", || async {
            app.get("/api/polls/pow-fleet", &[]).await.status == StatusCode::OK
        })
        .await;
    }
    for _ in 0..5 {
        let solution = solved(&apps[1], "pow-fleet").await;
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (apps, solution) = (apps.clone(), solution.clone());
                actix_web::rt::spawn(async move {
                    apps[i].vote("pow-fleet", json!({ "option_id": option }), &[("x-urna-pow", &solution)]).await
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            let a = t.await.unwrap();
            if a.status != StatusCode::OK {
                assert_problem(&a, 403, "pow-reused");
            }
            statuses.push(a.status.as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }
    assert_eq!(apps[0].db_counts(poll["id"].as_i64().unwrap()).await.values().sum::<i64>(), 5);
}

async fn invites(app: TestApp) {
    let app = Rc::new(app);
    let poll = app
        .open_poll(
            "invited",
            json!({ "voter_identity": "invite", "tracks": [{"name": "main", "dedupe": "one_per_voter"}] }),
        )
        .await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    let made = app.admin_post(&format!("/api/admin/polls/{id}/invites"), &json!({ "count": 3 })).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let codes: Vec<String> =
        made.body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 3);
    let stats = |app: &Rc<TestApp>| {
        let path = format!("/api/admin/polls/{id}/invites");
        let app = app.clone();
        async move { app.admin_get(&path).await.body }
    };
    assert_eq!(stats(&app).await, json!({ "total": 3, "used": 0 }));

    let vote = |code: &str| {
        let (app, code) = (app.clone(), code.to_owned());
        async move { app.vote("invited", json!({ "option_id": option }), &[("x-urna-invite", &code)]).await }
    };
    assert_problem(&app.vote("invited", json!({ "option_id": option }), &[]).await, 401, "voter-credential-required");
    assert_problem(&vote("NOPE-NOPE-NOPE").await, 401, "invite-invalid");
    assert_eq!(vote(&codes[0]).await.status, StatusCode::OK);
    assert_problem(&vote(&codes[0]).await, 409, "already-voted");
    // Typed from paper: case, spaces and dashes do not matter.
    assert_problem(&vote(&codes[0].to_lowercase().replace('-', " ")).await, 409, "already-voted");
    assert_eq!(stats(&app).await, json!({ "total": 3, "used": 1 }));

    // 500 uses of one code at once: exactly one counts.
    let tasks: Vec<_> = (0..500).map(|_| actix_web::rt::spawn(vote(&codes[1]))).collect();
    let mut ok = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status.as_u16() {
            200 => ok += 1,
            _ => assert_problem(&a, 409, "already-voted"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(app.results("invited").await["total_votes"], 2);
    assert_eq!(stats(&app).await, json!({ "total": 3, "used": 2 }));

    assert_problem(
        &app.admin_post(&format!("/api/admin/polls/{id}/invites"), &json!({ "count": 0 })).await,
        422,
        "invite-count",
    );
    let (status, ct, csv) =
        app.admin_post_text(&format!("/api/admin/polls/{id}/invites?format=csv"), &json!({ "count": 2 })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("/p/invited?invite="), "{csv}");
    let (_, ct, sheet) =
        app.admin_post_text(&format!("/api/admin/polls/{id}/invites?format=sheet"), &json!({ "count": 2 })).await;
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(sheet.matches("<svg").count(), 2, "a QR code per code");
    // A sheet draws every QR code on the spot: a thousand at most.
    let big = app.admin_post(&format!("/api/admin/polls/{id}/invites?format=sheet"), &json!({ "count": 1001 })).await;
    assert_problem(&big, 422, "invite-count");
    assert!(big.body["detail"].as_str().unwrap().contains("1 to 1000"), "{:?}", big.body);
    assert_eq!(stats(&app).await["total"], 7);
    // Only keyed hashes are stored, never the codes.
    let stored = entity::invites::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 7);
    assert!(stored.iter().all(|r| r.code_hash.len() == 32 && !codes.iter().any(|c| r.code_hash == c.as_bytes())));
}
on_both_backends!(invite_codes_vote_once_each_and_only_their_hashes_are_stored, super::invites);

async fn idempotency(app: TestApp) {
    let app = Rc::new(app);
    let poll = app.open_poll("retry", json!({})).await;
    let options = option_ids(&poll);
    let vote = |key: &str, option: i64| {
        let (app, key) = (app.clone(), key.to_owned());
        async move { app.vote("retry", json!({ "option_id": option }), &[("idempotency-key", &key)]).await }
    };
    let first = vote("click-1", options[0]).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = vote("click-1", options[0]).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body), "a retry gets the first answer");
    assert_eq!(app.results("retry").await["total_votes"], 1);
    assert_problem(&vote("click-1", options[1]).await, 422, "idempotency-key-reused");
    assert_problem(&vote(&"k".repeat(65), options[0]).await, 400, "idempotency-key-invalid");
    assert_problem(&vote("with space", options[0]).await, 400, "idempotency-key-invalid");

    // Twenty copies of one click at once count once and all get its answer.
    let tasks: Vec<_> = (0..20).map(|_| actix_web::rt::spawn(vote("click-2", options[1]))).collect();
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["option_id"], options[1]);
    }
    assert_eq!(app.results("retry").await["total_votes"], 2);

    // A commit whose answer was lost: the actor's retry finds it, and so
    // does the client's.
    app.state.faults.fail_after_commit.store(1, Ordering::SeqCst);
    assert_eq!(vote("click-3", options[0]).await.status, StatusCode::OK);
    assert_eq!(vote("click-3", options[0]).await.status, StatusCode::OK);
    // A flush that failed counted nothing and stored nothing: the retry counts.
    app.state.faults.fail_before_commit.store(1000, Ordering::SeqCst);
    assert_problem(&vote("click-4", options[0]).await, 503, "vote-not-stored");
    app.state.faults.fail_before_commit.store(0, Ordering::SeqCst);
    assert_eq!(vote("click-4", options[0]).await.status, StatusCode::OK);
    assert_eq!(app.results("retry").await["total_votes"], 4);
    let id = poll["id"].as_i64().unwrap();
    assert_eq!(app.db_counts(id).await.values().sum::<i64>(), 4);
}
on_both_backends!(a_retried_vote_with_an_idempotency_key_counts_once_and_gets_the_first_answer, super::idempotency);

#[actix_web::test]
async fn a_retry_that_reaches_another_instance_gets_the_first_answer() {
    let apps = spawn_cluster(3, &redis_url(), |_| {}).await;
    let poll = apps[0].open_poll("retry-fleet", json!({})).await;
    let option = option_ids(&poll)[0];
    for app in &apps[1..] {
        eventually(Duration::from_secs(2), "the poll reaching every instance", || async {
            app.get("/api/polls/retry-fleet", &[]).await.status == StatusCode::OK
        })
        .await;
    }
    let key = [("idempotency-key", "same-click")];
    let first = apps[0].vote("retry-fleet", json!({ "option_id": option }), &key).await;
    assert_eq!(first.status, StatusCode::OK);
    for app in &apps[1..] {
        let a = app.vote("retry-fleet", json!({ "option_id": option }), &key).await;
        assert_eq!((a.status, &a.body), (first.status, &first.body));
    }
    assert_eq!(apps[0].db_counts(poll["id"].as_i64().unwrap()).await.values().sum::<i64>(), 1);
}
