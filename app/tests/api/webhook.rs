use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use sea_orm::{EntityTrait, QueryOrder};
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

/// A webhook receiver on 127.0.0.1 (one worker, a port of its own) whose
/// `POST /hook` is `handler`, with `data` as its app data; returns the port.
pub fn spawn_receiver<D, F, Args>(data: web::Data<D>, handler: F) -> u16
where
    D: Send + Sync + 'static,
    F: actix_web::Handler<Args> + Clone + Send + 'static,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(handler.clone())))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
    actix_web::rt::spawn(server);
    port
}

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
    let port = spawn_receiver(receiver.clone(), hook);
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
    // In id order: a table scan's order is the heap's, not the inserts'.
    let batches = entity::batches::Entity::find().order_by_asc(entity::batches::Column::Id).all(&app.state.db);
    for b in batches.await.unwrap() {
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

/// What a receiver saw of one delivery.
#[derive(Clone, Debug)]
struct Seen {
    id: String,
    timestamp: i64,
    signature: String,
    body: bytes::Bytes,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

async fn record(req: actix_web::HttpRequest, body: bytes::Bytes, r: web::Data<Recorder>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    r.0.lock().unwrap().push(Seen {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signature: header("webhook-signature"),
        body,
    });
    HttpResponse::NoContent().finish()
}

/// What a receiver does with Standard Webhooks: recompute the signature.
fn verifies(secret: &str, seen: &Seen) -> bool {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", seen.id, seen.timestamp).as_bytes());
    mac.update(&seen.body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    seen.signature.split(' ').any(|s| s == expected)
}

/// A self-signed certificate for `localhost`, written where the server
/// under test is told to trust it.
fn localhost_certificate(dir: &std::path::Path) -> (rustls::ServerConfig, std::path::PathBuf) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, cert.pem()).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
    (config, path)
}

#[actix_web::test]
async fn deliveries_go_over_tls_signed_with_the_key_shown_once_and_rotated_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, ca) = localhost_certificate(dir.path());
    let recorder = web::Data::new(Recorder::default());
    let data = recorder.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(record)))
        .workers(1)
        .listen_rustls_0_23(listener, tls)
        .unwrap()
        .run();
    actix_web::rt::spawn(server);
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |s| s.webhooks.ca_file = Some(ca)).await;

    let url = format!("https://localhost:{port}/hook");
    let created = app
        .create_poll(
            json!({ "slug": "tls", "title": "TLS", "options": [{"label": "A"}, {"label": "B"}], "webhook_url": url }),
        )
        .await;
    let secret = created["webhook_secret"].as_str().expect("the key is shown when the webhook is set").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = created["id"].as_i64().unwrap();
    let again = app.admin_get(&format!("/api/admin/polls/{id}")).await;
    assert!(again.body.get("webhook_secret").is_none(), "and never again: {:?}", again.body);
    assert_eq!(app.admin_post(&format!("/api/admin/polls/{id}/open"), &json!({})).await.status.as_u16(), 200);
    let option = option_ids(&created)[0];
    assert_eq!(app.vote("tls", json!({ "option_id": option }), &[]).await.status.as_u16(), 200);
    let seen = |n: usize| {
        let got = recorder.0.lock().unwrap().len() >= n;
        async move { got }
    };
    eventually(Duration::from_secs(10), "a delivery over TLS", || seen(1)).await;
    let first = recorder.0.lock().unwrap()[0].clone();
    assert!(first.id.starts_with("batch_"), "{first:?}");
    assert!((chrono::Utc::now().timestamp() - first.timestamp).abs() < 60, "{first:?}");
    assert!(verifies(&secret, &first), "the signature checks out with the key: {first:?}");
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["poll"], "tls");

    let rotated = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "rotate_webhook_secret": true })).await;
    let new = rotated.body["webhook_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, secret);
    assert_eq!(app.vote("tls", json!({ "option_id": option }), &[]).await.status.as_u16(), 200);
    eventually(Duration::from_secs(10), "a delivery after the rotation", || seen(2)).await;
    let second = recorder.0.lock().unwrap()[1].clone();
    assert!(verifies(&new, &second) && !verifies(&secret, &second), "signed with the new key only");
    let audit = app.admin_get("/api/admin/audit").await;
    assert!(audit.body.to_string().contains("webhook_secret"), "the rotation is audited: {:?}", audit.body);
}

#[actix_web::test]
async fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    let recorder = web::Data::new(Recorder::default());
    let port = spawn_receiver(recorder.clone(), record);
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |s| s.webhooks.allow_private = false).await;
    // An address in the URL, and a name that resolves to one.
    for (slug, host) in [("literal", "127.0.0.1"), ("named", "localhost")] {
        let poll = app.open_poll(slug, json!({ "webhook_url": format!("http://{host}:{port}/hook") })).await;
        assert_eq!(app.vote(slug, json!({ "option_id": option_ids(&poll)[0] }), &[]).await.status.as_u16(), 200);
    }
    let refused = || async {
        let (_, _, text) = app.get_text("/metrics", &[]).await;
        text.lines()
            .find_map(|l| l.strip_prefix("urna_webhook_deliveries_total{result=\"refused\"} "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Both polls refused over several rounds (the counter is process-wide;
    // no other test's webhook is refused).
    eventually(Duration::from_secs(10), "both targets refused, round after round", || async { refused().await >= 6.0 })
        .await;
    assert!(recorder.0.lock().unwrap().is_empty(), "nothing reached the private address");
}
