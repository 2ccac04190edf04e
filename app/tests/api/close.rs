use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, eventually, option_ids};
use crate::on_both_backends;

async fn race(app: TestApp) {
    let poll = app.open_poll("race", json!({})).await;
    let (id, options) = (poll["id"].as_i64().unwrap(), option_ids(&poll));
    let app = Rc::new(app);
    let closed = Rc::new(Cell::new(false));
    let mut tasks = Vec::new();
    for c in 0..50 {
        let (app, options, closed) = (app.clone(), options.clone(), closed.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let (mut ok, mut after_close_ok) = (0i64, 0i64);
            loop {
                let sent_after_close = closed.get();
                let a = app.vote("race", json!({ "option_id": options[c % 3] }), &[]).await;
                match a.status.as_u16() {
                    200 => {
                        ok += 1;
                        if sent_after_close {
                            after_close_ok += 1;
                        }
                    }
                    409 => {
                        assert_problem(&a, 409, "poll-closed");
                        return (ok, after_close_ok);
                    }
                    other => panic!("unexpected {other}: {:?}", a.body),
                }
            }
        }));
    }
    eventually(Duration::from_secs(5), "votes counted before the close", || async {
        app.db_counts(id).await.values().sum::<i64>() >= 50
    })
    .await;
    let a = app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["status"], "closed");
    closed.set(true);
    let (mut acked, mut late) = (0, 0);
    for t in tasks {
        let (ok, after) = t.await.unwrap();
        acked += ok;
        late += after;
    }
    assert!(acked > 0, "no vote got in before the close");
    assert_eq!(late, 0, "a vote sent after the close was answered 200");
    // Every 200 is counted, nothing else is.
    assert_eq!(app.db_counts(id).await.values().sum::<i64>(), acked);
    assert_eq!(app.results("race").await["total_votes"], acked);
    assert_eq!(app.results("race").await["status"], "closed");
    let a = app.vote("race", json!({ "option_id": options[0] }), &[]).await;
    assert_problem(&a, 409, "poll-closed");
    assert_eq!(app.db_counts(id).await.values().sum::<i64>(), acked);
}
on_both_backends!(votes_racing_a_close_are_counted_exactly_when_acknowledged, super::race);

async fn schedule(app: TestApp) {
    let now = chrono::Utc::now();
    let opens = now + chrono::Duration::milliseconds(1500);
    let closes = now + chrono::Duration::milliseconds(3500);
    let poll = app
        .create_poll(json!({
            "slug": "timed",
            "title": "Timed",
            "options": [{"label": "Yes"}, {"label": "No"}],
            "opens_at": opens,
            "closes_at": closes,
        }))
        .await;
    assert_eq!(poll["status"], "scheduled");
    let (id, yes) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);

    let a = app.vote("timed", json!({ "option_id": yes }), &[]).await;
    assert_problem(&a, 409, "poll-not-open");
    assert!(a.body["opens_at"].is_string(), "the voter is told when it opens");

    // No admin acts from here on: the schedule alone opens and closes it.
    let status = || async { app.get("/api/polls/timed", &[]).await.body["status"].clone() };
    eventually(Duration::from_secs(4), "the schedule opening the poll", || async { status().await == "open" }).await;
    let a = app.vote("timed", json!({ "option_id": yes }), &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);

    eventually(Duration::from_secs(4), "the schedule closing the poll", || async { status().await == "closed" }).await;
    let a = app.vote("timed", json!({ "option_id": yes }), &[]).await;
    assert_problem(&a, 409, "poll-closed");
    // The scheduler writes the open and the close down (and audits them) by itself.
    let by_scheduler = || async {
        let audit = app.admin_get("/api/admin/audit").await;
        audit.body.as_array().unwrap().iter().filter(|e| e["actor"] == "scheduler").count()
    };
    eventually(Duration::from_secs(3), "the scheduler writing the close down", || async { by_scheduler().await == 2 })
        .await;
    let p = app.admin_get(&format!("/api/admin/polls/{id}")).await;
    assert_eq!(p.body["status"], "closed");
    assert_eq!(p.body["results"]["total_votes"], 1);
    let audit = app.admin_get("/api/admin/audit").await;
    let by_scheduler = audit.body.as_array().unwrap().iter().filter(|e| e["actor"] == "scheduler").count();
    assert_eq!(by_scheduler, 2, "open and close by schedule are audited: {:?}", audit.body);
}
on_both_backends!(a_scheduled_poll_opens_and_closes_on_time_without_an_admin, super::schedule);
