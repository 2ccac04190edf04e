use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, eventually, option_ids};
use crate::on_both_backends;

/// A receiver that fails every other request among its first `FLAKY`, then
/// accepts everything, recording `(poll_id, batch_id)` of each accepted one.
#[derive(Default)]
struct Receiver {
    requests: AtomicU32,
    accepted: Mutex<Vec<(i64, i64)>>,
}

const FLAKY: u32 = 30;

async fn hook(body: web::Json<Value>, r: web::Data<Receiver>) -> HttpResponse {
    let n = r.requests.fetch_add(1, Ordering::SeqCst);
    if n < FLAKY && n.is_multiple_of(2) {
        return HttpResponse::InternalServerError().finish();
    }
    let pair = (body["poll_id"].as_i64().unwrap_or(-1), body["batch_id"].as_i64().unwrap_or(-1));
    r.accepted.lock().unwrap().push(pair);
    HttpResponse::Ok().finish()
}

async fn flaky_receiver(app: TestApp) {
    let receiver = web::Data::new(Receiver::default());
    let data = receiver.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(hook)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    actix_web::rt::spawn(server);
    let url = format!("http://127.0.0.1:{port}/hook");

    let mut polls = Vec::new();
    for i in 0..5 {
        polls.push(app.open_poll(&format!("hooked-{i}"), json!({ "webhook_url": url })).await);
    }
    assert_eq!(polls[0]["webhook_url"], url.as_str(), "the admin sees the webhook");
    assert!(app.get("/api/polls/hooked-0", &[]).await.body.get("webhook_url").is_none(), "the public does not");
    // Sequential votes: each one is its own batch.
    for _ in 0..12 {
        for (i, p) in polls.iter().enumerate() {
            let a = app.vote(&format!("hooked-{i}"), json!({ "option_id": option_ids(p)[0] }), &[]).await;
            assert_eq!(a.status.as_u16(), 200);
        }
    }
    let mut expected: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for b in entity::batches::Entity::find().all(&app.state.db).await.unwrap() {
        expected.entry(b.poll_id).or_default().push(b.id);
    }
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 60);

    // Batches received per poll, in arrival order (a retried one may repeat).
    let received = || {
        let mut got: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (poll, batch) in receiver.accepted.lock().unwrap().iter() {
            got.entry(*poll).or_default().push(*batch);
        }
        got
    };
    let firsts = |mut got: BTreeMap<i64, Vec<i64>>| {
        got.values_mut().for_each(Vec::dedup);
        got
    };
    eventually(Duration::from_secs(30), "every batch arriving", || {
        let all = firsts(received()) == expected;
        async move { all }
    })
    .await;
    let delivered = received();
    // In order per poll: each poll's accepted batches only go forward.
    for (poll, batches) in &delivered {
        assert!(batches.windows(2).all(|w| w[0] < w[1]), "poll {poll} received out of order: {batches:?}");
    }
    assert!(receiver.requests.load(Ordering::SeqCst) > 60, "failed deliveries were retried");
    // The limit shrank while the receiver failed and grew once it stopped.
    let h = app.state.exporter.history();
    let shrank = h.windows(2).position(|w| w[1] < w[0]).expect("the limit never shrank");
    assert!(h[shrank + 1..].windows(2).any(|w| w[1] > w[0]), "the limit never grew after shrinking: {h:?}");
}
on_both_backends!(
    a_flaky_webhook_receives_every_batch_in_order_while_the_concurrency_limit_adapts,
    super::flaky_receiver
);
