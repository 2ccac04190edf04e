use std::rc::Rc;
use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, option_ids};
use crate::on_both_backends;

async fn concurrent_votes(app: &Rc<TestApp>, slug: &'static str, option: i64, n: usize) -> Vec<crate::helpers::Answer> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let app = app.clone();
            actix_web::rt::spawn(async move { app.vote(slug, json!({ "option_id": option }), &[]).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn ledger_votes(app: &TestApp, poll_id: i64) -> (i64, i64) {
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(votes), 0) AS BIGINT) AS v FROM batches WHERE poll_id = {poll_id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    (row.try_get("", "n").unwrap(), row.try_get("", "v").unwrap())
}

async fn lost_commit_answer(app: TestApp) {
    let poll = app.open_poll("retry", json!({})).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    // The first flush commits, then "loses" the answer: the retry must find
    // the batch in the ledger instead of adding it again.
    app.state.faults.fail_after_commit.store(1, Ordering::SeqCst);
    let app = Rc::new(app);
    let answers = concurrent_votes(&app, "retry", option, 50).await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        answers.iter().find(|a| a.status != StatusCode::OK)
    );
    assert_eq!(app.state.faults.fail_after_commit.load(Ordering::SeqCst), 0, "the fault never fired");
    assert_eq!(app.results("retry").await["total_votes"], 50);
    assert_eq!(app.db_counts(id).await.get(&option), Some(&50));
    assert_eq!(ledger_votes(&app, id).await.1, 50);
}
on_both_backends!(a_flush_retried_after_a_lost_commit_answer_counts_once, super::lost_commit_answer);

async fn rolled_back_commit(app: TestApp) {
    let poll = app.open_poll("rollback", json!({})).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[2]);
    app.state.faults.fail_before_commit.store(2, Ordering::SeqCst);
    let app = Rc::new(app);
    let answers = concurrent_votes(&app, "rollback", option, 30).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(app.results("rollback").await["total_votes"], 30);
    assert_eq!(app.db_counts(id).await.get(&option), Some(&30));
}
on_both_backends!(a_flush_retried_after_a_rolled_back_commit_counts_once, super::rolled_back_commit);

async fn storage_down(app: TestApp) {
    let poll = app.open_poll("down", json!({})).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    // More failures than the actor retries: the votes must be refused, not lost.
    app.state.faults.fail_before_commit.store(1000, Ordering::SeqCst);
    let a = app.vote("down", json!({ "option_id": option }), &[]).await;
    assert_problem(&a, 503, "vote-not-stored");
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    app.state.faults.fail_before_commit.store(0, Ordering::SeqCst);
    assert_eq!(app.vote("down", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    assert_eq!(app.db_counts(id).await.get(&option), Some(&1));
    assert_eq!(app.results("down").await["total_votes"], 1);
}
on_both_backends!(a_vote_whose_flush_keeps_failing_gets_503_and_is_not_counted, super::storage_down);
