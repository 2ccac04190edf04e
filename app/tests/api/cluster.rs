//! Several instances behind an imagined load balancer: one Postgres, one
//! Redis. The database sync interval is set to 10 s here, so anything that
//! must happen within a second can only have come through Redis.
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, eventually, option_ids, redis_url, spawn_cluster};
use crate::results::next_matching_within;

/// Waits, if needed, so that a short test stays inside one rate-limit minute.
pub async fn within_one_window() {
    let into = chrono::Utc::now().timestamp().rem_euclid(60);
    if into > 50 {
        actix_web::rt::time::sleep(Duration::from_secs((61 - into) as u64)).await;
    }
}

pub fn slow_db_sync(s: &mut urna::Settings) {
    s.sync_interval = Duration::from_secs(10);
}

async fn total_on(app: &TestApp, slug: &str) -> i64 {
    app.results(slug).await["total_votes"].as_i64().unwrap()
}

/// Votes from `clients` concurrent clients, spread round-robin over the
/// instances, until `stop` is set or each has sent `max` votes. Returns the
/// number answered 200; any other answer fails the test.
pub async fn vote_spread(
    apps: &Rc<Vec<TestApp>>,
    slug: &'static str,
    options: &[i64],
    clients: usize,
    max: usize,
    stop: Rc<Cell<bool>>,
) -> i64 {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (apps, options, stop) = (apps.clone(), options.to_vec(), stop.clone());
            actix_web::rt::spawn(async move {
                let mut ok = 0i64;
                for i in 0..max {
                    if stop.get() {
                        break;
                    }
                    let app = &apps[(c + i) % apps.len()];
                    let a = app.vote(slug, json!({ "option_id": options[(c * 7 + i) % options.len()] }), &[]).await;
                    assert_eq!(a.status, StatusCode::OK, "vote on {} failed: {:?}", app.addr, a.body);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    ok
}

/// Opens a poll through the first instance and waits until every other one
/// has it (they learn of it through Redis); returns its id and options.
pub async fn open_everywhere(apps: &[TestApp], slug: &str) -> (i64, Vec<i64>) {
    let poll = apps[0].open_poll(slug, json!({})).await;
    for app in &apps[1..] {
        eventually(Duration::from_secs(1), "the new poll reaching every instance", || async {
            app.get(&format!("/api/polls/{slug}"), &[]).await.status == StatusCode::OK
        })
        .await;
    }
    (poll["id"].as_i64().unwrap(), option_ids(&poll))
}

async fn db_total(app: &TestApp, poll_id: i64) -> i64 {
    app.db_counts(poll_id).await.values().sum()
}

#[actix_web::test]
async fn three_instances_count_votes_spread_over_them_exactly() {
    let apps = Rc::new(spawn_cluster(3, &redis_url(), slow_db_sync).await);
    let (id, options) = open_everywhere(&apps, "spread").await;
    let acked = vote_spread(&apps, "spread", &options, 150, 60, Rc::new(Cell::new(false))).await;
    assert_eq!(acked, 9000);
    assert_eq!(db_total(&apps[0], id).await, acked);
    // Every instance shows the exact total, its own shard plus the others'.
    for app in apps.iter() {
        eventually(Duration::from_secs(1), "every instance showing the exact total", || async {
            total_on(app, "spread").await == acked
        })
        .await;
    }
    // One login serves every instance: a load balancer may send an admin anywhere.
    let listed = apps[2].admin_get("/api/admin/polls").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body[0]["results"]["total_votes"], acked);
    let shards = urna::db::query::counters_of_poll(&apps[0].state.db, id).await.unwrap();
    let mut names: Vec<&str> = shards.iter().map(|r| r.shard.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names, ["node-0", "node-1", "node-2"], "each instance writes its own counter rows");
}

#[actix_web::test]
async fn a_poll_closed_through_one_instance_rejects_votes_on_the_others_within_a_second() {
    let apps = spawn_cluster(3, &redis_url(), slow_db_sync).await;
    let poll = apps[0].open_poll("closing", json!({})).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    for app in &apps[1..] {
        eventually(Duration::from_secs(1), "the poll opening everywhere", || async {
            app.vote("closing", json!({ "option_id": option }), &[]).await.status == StatusCode::OK
        })
        .await;
    }
    let a = apps[0].admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(a.status, StatusCode::OK);
    for app in &apps[1..] {
        eventually(Duration::from_secs(1), "the close reaching every instance", || async {
            app.get("/api/polls/closing", &[]).await.body["status"] == "closed"
        })
        .await;
        assert_problem(&app.vote("closing", json!({ "option_id": option }), &[]).await, 409, "poll-closed");
    }
}

#[actix_web::test]
async fn a_live_viewer_on_one_instance_sees_votes_cast_on_another_within_a_second() {
    let apps = spawn_cluster(3, &redis_url(), slow_db_sync).await;
    let poll = apps[0].open_poll("fanout", json!({})).await;
    let option = option_ids(&poll)[1];
    let viewer = &apps[2];
    eventually(Duration::from_secs(1), "the poll reaching the viewer's instance", || async {
        viewer.get("/api/polls/fanout", &[]).await.status == StatusCode::OK
    })
    .await;
    let mut res = viewer.client.get(viewer.url("/api/polls/fanout/results/stream")).send().await.unwrap();
    let mut buf = String::new();
    next_matching_within(&mut res, &mut buf, Duration::from_secs(2), |_| true).await;
    for _ in 0..5 {
        assert_eq!(apps[0].vote("fanout", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    }
    let v = next_matching_within(&mut res, &mut buf, Duration::from_secs(1), |v| v["total_votes"] == 5).await;
    assert_eq!(v["tracks"][0]["options"][1]["votes"], 5);
}

/// A redis-server of the test's own, on a free port, that it can stop.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut r = Self { port, child: None };
        r.restart();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("private redis-server did not start");
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn redis_state(app: &TestApp) -> String {
    let a = app.get("/readyz", &[]).await;
    assert_eq!(a.status, StatusCode::OK, "an instance without Redis is still ready: {:?}", a.body);
    a.body["redis"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn with_redis_stopped_mid_run_every_vote_answered_200_is_counted_and_all_recovers() {
    let mut redis = PrivateRedis::start();
    let apps = Rc::new(spawn_cluster(3, &redis.url(), slow_db_sync).await);
    let poll = apps[0].open_poll("outage", json!({})).await;
    let (id, options) = (poll["id"].as_i64().unwrap(), option_ids(&poll));
    for app in apps.iter() {
        eventually(Duration::from_secs(2), "Redis connected everywhere", || async { redis_state(app).await == "ok" })
            .await;
        eventually(Duration::from_secs(1), "the poll reaching every instance", || async {
            app.get("/api/polls/outage", &[]).await.status == StatusCode::OK
        })
        .await;
    }
    let stop = Rc::new(Cell::new(false));
    let voting = {
        let (apps, options, stop) = (apps.clone(), options.clone(), stop.clone());
        actix_web::rt::spawn(async move { vote_spread(&apps, "outage", &options, 30, 1_000_000, stop).await })
    };
    // Each phase lasts until a hundred more votes are counted in it.
    let flowing = |from: i64| {
        let app = &apps[0];
        move || async move { db_total(app, id).await >= from + 100 }
    };
    eventually(Duration::from_secs(5), "votes flowing before the outage", flowing(0)).await;
    redis.stop();
    for app in apps.iter() {
        eventually(Duration::from_secs(3), "the degradation being reported", || async {
            redis_state(app).await == "degraded"
        })
        .await;
    }
    let before = db_total(&apps[0], id).await;
    eventually(Duration::from_secs(5), "votes flowing while Redis is down", flowing(before)).await;
    redis.restart();
    for app in apps.iter() {
        eventually(Duration::from_secs(5), "Redis reconnecting by itself", || async { redis_state(app).await == "ok" })
            .await;
    }
    let before = db_total(&apps[0], id).await;
    eventually(Duration::from_secs(5), "votes flowing after Redis returned", flowing(before)).await;
    stop.set(true);
    let acked = voting.await.unwrap();
    assert!(acked > 100, "votes kept flowing: {acked}");
    assert_eq!(db_total(&apps[0], id).await, acked, "every vote answered 200 is counted, once");
    // Fan-out works again: a vote on A shows on C within a second.
    let before = db_total(&apps[0], id).await;
    assert_eq!(apps[0].vote("outage", json!({ "option_id": options[0] }), &[]).await.status, StatusCode::OK);
    eventually(Duration::from_secs(1), "C seeing A's vote after the outage", || async {
        total_on(&apps[2], "outage").await == before + 1
    })
    .await;
}
