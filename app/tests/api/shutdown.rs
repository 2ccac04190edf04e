//! Graceful shutdown of the real binary: SIGTERM flushes every actor and
//! answers every waiting vote before the process exits.
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADMIN, ADMIN_PASSWORD, eventually};

async fn post(client: &awc::Client, url: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, Value, Vec<String>) {
    let mut req = client.post(url);
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send_json(body).await.unwrap();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect();
    let bytes = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null), cookies)
}

/// Kills the server if the test fails before it exits.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `urna serve` with an admin and an open poll of two options.
struct Running {
    server: Reap,
    base: String,
    client: Rc<awc::Client>,
    poll_id: i64,
    option: i64,
}

/// Starts `urna serve`. It inherits `REDIS_URL` from the test environment,
/// so it gets a Redis prefix of its own (the database's name is unique per
/// test): with the default prefix it would share per-IP rate-limit windows
/// with every other run, and 127.0.0.1 would be refused until the minute
/// turns. The per-IP limit is off: the clients here stand for many voters.
fn spawn_server(bin: &str, db: &str, port: u16, extra: &[&str]) -> Reap {
    let bind = format!("127.0.0.1:{port}");
    let prefix = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        db.hash(&mut h);
        format!("urna-test-{:016x}", h.finish())
    };
    let mut args = vec![
        "serve",
        "--database-url",
        db,
        "--bind",
        bind.as_str(),
        "--migrate",
        "true",
        "--redis-prefix",
        prefix.as_str(),
        "--rate-limit-ip-per-min",
        "0",
    ];
    args.extend_from_slice(extra);
    Reap(Command::new(bin).args(&args).env("RUST_LOG", "error").spawn().unwrap())
}

async fn wait_up(client: &awc::Client, base: &str) {
    eventually(Duration::from_secs(5), "the server starting", || async {
        client.get(format!("{base}/healthz")).send().await.is_ok()
    })
    .await;
}

/// Votes waiting in the server's memory, from its metrics.
async fn pending(client: &awc::Client, base: &str) -> i64 {
    let Ok(mut res) = client.get(format!("{base}/metrics")).send().await else { return -1 };
    let body = res.body().await.unwrap_or_default();
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("urna_pending_votes "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(-1, |v| v as i64)
}

/// A free port below the ephemeral range (32768 and up on Linux): a server
/// restarted on it cannot find it taken by another test's server bound to
/// port 0 meanwhile.
fn fixed_port() -> u16 {
    loop {
        let port = 20_000 + u16::from_le_bytes(urna::keys::random_bytes::<2>()) % 10_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Creates the admin, starts the server, logs in, creates and opens a poll.
async fn start_with_poll(db: &str, slug: &str, extra: &[&str]) -> Running {
    let bin = env!("CARGO_BIN_EXE_urna");
    let created = Command::new(bin)
        .args(["create-admin", "--database-url", db, ADMIN])
        .env("URNA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(created.success());
    let port = fixed_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = Rc::new(
        // A short timeout: a request caught on a connection to the killed
        // server gives up soon and the client carries on with a new one.
        awc::Client::builder().timeout(Duration::from_secs(3)).connector(awc::Connector::new().limit(500)).finish(),
    );
    let server = spawn_server(bin, db, port, extra);
    wait_up(&client, &base).await;
    let (status, me, cookies) = post(
        &client,
        &format!("{base}/api/admin/login"),
        &json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let cookie = cookies.into_iter().find(|c| c.starts_with("urna_session=")).unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let admin = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let (status, poll, _) = post(
        &client,
        &format!("{base}/api/admin/polls"),
        &json!({ "slug": slug, "title": slug, "options": [{"label": "a"}, {"label": "b"}] }),
        &admin,
    )
    .await;
    assert_eq!(status, 201);
    let poll_id = poll["id"].as_i64().unwrap();
    let option = poll["options"][0]["id"].as_i64().unwrap();
    assert_eq!(post(&client, &format!("{base}/api/admin/polls/{poll_id}/open"), &json!({}), &admin).await.0, 200);
    Running { server, base, client, poll_id, option }
}

async fn counted(db: &str, poll_id: i64) -> i64 {
    let conn = urna::db::connect(db, 1).await.unwrap();
    urna::db::query::counters_of_poll(&conn, poll_id).await.unwrap().iter().map(|r| r.votes).sum()
}

#[actix_web::test]
async fn on_sigterm_every_waiting_vote_is_flushed_and_answered_before_the_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/urna.db?mode=rwc", dir.path().display());
    // A 60 s flush interval: only the shutdown drain can answer these votes in time.
    let Running { mut server, base, client, poll_id, option } =
        start_with_poll(&db, "bye", &["--flush-interval-ms", "60000"]).await;
    let votes: Vec<_> = (0..100)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/api/polls/bye/votes"));
            actix_web::rt::spawn(async move { post(&client, &url, &json!({ "option_id": option }), &[]).await.0 })
        })
        .collect();
    eventually(Duration::from_secs(5), "all 100 votes waiting in the server", || async {
        pending(&client, &base).await == 100
    })
    .await;
    let term = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(term.success());

    let mut answered = 0;
    for v in votes {
        assert_eq!(v.await.unwrap(), 200, "a vote waiting at shutdown was not recorded");
        answered += 1;
    }
    let exited = std::cell::RefCell::new(None);
    eventually(Duration::from_secs(4), "the server exiting after SIGTERM", || {
        let status = server.0.try_wait().unwrap();
        *exited.borrow_mut() = status;
        async move { status.is_some() }
    })
    .await;
    let status = exited.into_inner().unwrap();
    assert!(status.success(), "server exited with {status}");
    assert_eq!(counted(&db, poll_id).await, answered);
}

#[actix_web::test]
async fn after_sigkill_under_load_and_a_restart_every_acknowledged_vote_is_counted_once() {
    use std::cell::Cell;

    let bin = env!("CARGO_BIN_EXE_urna");
    let (db, _guard) = crate::helpers::fresh_database(crate::helpers::Backend::Postgres).await;
    let Running { mut server, base, client, poll_id: id, option } =
        start_with_poll(&db, "crash", &["--instance-id", "crash"]).await;
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();

    // 50 clients vote until told to stop, each keeping its own record: votes
    // answered 200, and votes sent that got no answer (cut off by the kill).
    let stop = Rc::new(Cell::new(false));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, stop, url) = (client.clone(), stop.clone(), format!("{base}/api/polls/crash/votes"));
            actix_web::rt::spawn(async move {
                let (mut acked, mut unanswered) = (0i64, 0i64);
                while !stop.get() {
                    match client.post(&url).send_json(&json!({ "option_id": option })).await {
                        Ok(res) if res.status() == 200 => acked += 1,
                        Ok(_) => {}
                        Err(_) => {
                            unanswered += 1;
                            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (acked, unanswered)
            })
        })
        .collect();
    eventually(Duration::from_secs(10), "votes counted before the kill", || async { counted(&db, id).await >= 200 })
        .await;
    let killed = Command::new("kill").args(["-KILL", &server.0.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let _ = server.0.wait();
    let mut restarted = spawn_server(bin, &db, port, &["--instance-id", "crash"]);
    wait_up(&client, &base).await;
    assert!(restarted.0.try_wait().unwrap().is_none(), "the restarted server exited: is port {port} taken?");
    let before = counted(&db, id).await;
    // Clients caught on dead connections come back after their timeout.
    eventually(Duration::from_secs(20), "votes counted after the restart", || async {
        counted(&db, id).await >= before + 100
    })
    .await;
    stop.set(true);
    let (mut acked, mut unanswered) = (0, 0);
    for t in tasks {
        let (a, u) = t.await.unwrap();
        acked += a;
        unanswered += u;
    }
    let counted = counted(&db, id).await;
    assert!(acked > 100 && unanswered > 0, "the kill happened under load: {acked} acked, {unanswered} unanswered");
    assert!(counted >= acked, "an acknowledged vote was lost: {counted} counted, {acked} acknowledged");
    assert!(
        counted <= acked + unanswered,
        "more counted ({counted}) than acknowledged ({acked}) plus cut off ({unanswered}): something counted twice"
    );
    // The chain went on across the kill: no gap, no fork, and it sums to
    // the counters.
    let conn = sea_orm::Database::connect(&db).await.unwrap();
    assert_eq!(crate::verify::ledger_matches_counters(&conn, id).await, counted);
    let summary = urna::verify::check(&base, "crash", &[], None).await.expect("the ledger verifies after a kill -9");
    assert_eq!((summary.shards, summary.votes), (1, Some(counted)));
}
