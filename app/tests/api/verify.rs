//! The public ledger: every recorded vote's receipt, the hash chains, and
//! `urna verify` holding the count to them, honest and tampered with.
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::StatusCode;
use api::ledger::{self as chain, Receipt};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::cluster::{open_everywhere, slow_db_sync, vote_spread};
use crate::helpers::{TestApp, eventually, option_ids, redis_url, spawn_cluster};
use crate::on_both_backends;

/// For every shard, the sum of its ledger's deltas against its counter rows,
/// both read straight from the database; returns the total.
pub async fn ledger_matches_counters(db: &DatabaseConnection, poll_id: i64) -> i64 {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT shard, outcome, chain_seq FROM batches WHERE poll_id = {poll_id}"),
        ))
        .await
        .unwrap();
    let mut ledger: BTreeMap<(String, i64, i64), i64> = BTreeMap::new();
    for r in rows {
        let shard: String = r.try_get("", "shard").unwrap();
        let seq: Option<i64> = r.try_get("", "chain_seq").unwrap();
        assert!(seq.is_some(), "a batch outside the chain");
        let outcome: Value = serde_json::from_str(&r.try_get::<String>("", "outcome").unwrap()).unwrap();
        for d in outcome["deltas"].as_array().unwrap() {
            let key = (shard.clone(), d[0].as_i64().unwrap(), d[1].as_i64().unwrap());
            *ledger.entry(key).or_default() += d[2].as_i64().unwrap();
        }
    }
    let counters: BTreeMap<(String, i64, i64), i64> = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT shard, option_id, track_id, votes FROM counters WHERE poll_id = {poll_id} AND votes <> 0"),
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let key = (
                r.try_get("", "shard").unwrap(),
                r.try_get("", "option_id").unwrap(),
                r.try_get("", "track_id").unwrap(),
            );
            (key, r.try_get("", "votes").unwrap())
        })
        .collect();
    assert_eq!(ledger, counters, "each shard's ledger sums to its counter rows");
    counters.values().sum()
}

/// The id and stored outcome of a poll's first batch in its chain, and a
/// statement that writes another outcome into it (for tampering tests).
pub async fn first_batch(db: &DatabaseConnection, poll_id: i64) -> (String, impl Fn(String) -> Statement) {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT id, outcome FROM batches WHERE poll_id = {poll_id} AND chain_seq = 1"),
        ))
        .await
        .unwrap()
        .unwrap();
    let (batch, original): (i64, String) = (row.try_get("", "id").unwrap(), row.try_get("", "outcome").unwrap());
    let set = move |text: String| {
        Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => "UPDATE batches SET outcome = $1 WHERE id = $2",
                _ => "UPDATE batches SET outcome = ? WHERE id = ?",
            },
            [text.into(), batch.into()],
        )
    };
    (original, set)
}

fn write_receipt(dir: &tempfile::TempDir, name: &str, receipt: &Value) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, receipt.to_string()).unwrap();
    path
}

async fn close(app: &TestApp, id: i64) {
    let a = app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "close failed: {:?}", a.body);
}

async fn receipts_and_an_honest_count(app: TestApp) {
    let poll = app.open_poll("honest", json!({})).await;
    assert_eq!(poll["receipts"], true, "new polls have receipts");
    let (id, options) = (poll["id"].as_i64().unwrap(), option_ids(&poll));
    let app = Rc::new(app);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (app, option) = (app.clone(), options[i % 2]);
            actix_web::rt::spawn(async move { app.vote("honest", json!({ "option_id": option }), &[]).await })
        })
        .collect();
    let mut receipts = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, StatusCode::OK);
        let r = &a.body["receipt"];
        for field in ["poll", "shard", "seq", "index", "size", "nonce", "option_id", "track_id", "root", "proof"] {
            assert!(!r[field].is_null(), "receipt without {field}: {r}");
        }
        assert_eq!(r["poll"], "honest");
        assert_eq!(r["option_id"], a.body["option_id"]);
        let receipt: Receipt = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(receipt.nonce.len(), 32, "a 16-byte nonce in hex");
        receipt.check_path().expect("its audit path leads to its root");
        receipts.push(a.body.clone());
    }

    // The chain as the public reads it.
    let heads = app.get("/api/polls/honest/ledger/heads", &[]).await;
    assert_eq!(heads.status, StatusCode::OK);
    assert_eq!(heads.body["revealed"], true);
    let shard = heads.body["heads"][0]["shard"].as_str().unwrap().to_owned();
    let page = app.get(&format!("/api/polls/honest/ledger?shard={shard}&after=0&limit=2"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let first = &page.body["entries"][0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["prev_hash"], "0".repeat(64), "the first entry follows 32 zero bytes");
    for field in ["shard", "seq", "prev_hash", "root", "size", "deltas", "entry_hash", "committed_at", "salt"] {
        assert!(!first[field].is_null(), "entry without {field}: {first}");
    }
    let d = &first["deltas"][0];
    assert!(d["option_id"].is_i64() && d["track_id"].is_i64() && d["delta"].as_i64().unwrap() > 0);
    let seqs = heads.body["heads"][0]["seq"].as_i64().unwrap();
    if seqs > 2 {
        assert_eq!(page.body["next_after"], 2, "a page of two says where the next begins");
    }

    close(&app, id).await;
    assert_eq!(ledger_matches_counters(&app.state.db, id).await, 30);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> =
        receipts.iter().take(3).enumerate().map(|(i, r)| write_receipt(&dir, &format!("r{i}.json"), r)).collect();
    let summary = urna::verify::check(&app.addr, "honest", &files, None).await.expect("an honest count verifies");
    assert_eq!((summary.votes, summary.receipts, summary.shards), (Some(30), 3, 1));
    assert!(summary.totals.contains("equal"), "{}", summary.totals);

    // Tampered receipt: another option under the same path.
    let mut forged = receipts[0]["receipt"].clone();
    forged["option_id"] = json!(if forged["option_id"] == options[0] { options[1] } else { options[0] });
    let forged = write_receipt(&dir, "forged.json", &forged);
    let err = urna::verify::check(&app.addr, "honest", &[forged], None).await.unwrap_err().to_string();
    assert!(err.contains("forged.json") && err.contains("audit path"), "{err}");

    // Tampered ledger row: one more vote written into a batch's deltas.
    let db = &app.state.db;
    let (original, set) = first_batch(db, id).await;
    let mut outcome: Value = serde_json::from_str(&original).unwrap();
    outcome["deltas"][0][2] = json!(outcome["deltas"][0][2].as_i64().unwrap() + 1);
    db.execute_raw(set(outcome.to_string())).await.unwrap();
    let err = urna::verify::check(&app.addr, "honest", &[], None).await.unwrap_err().to_string();
    assert!(err.contains(&format!("entry shard={shard} seq=1")) && err.contains("entry_hash"), "{err}");
    db.execute_raw(set(original)).await.unwrap();
    urna::verify::check(&app.addr, "honest", &[], None).await.expect("restored, it verifies again");

    // Tampered counter row: a restart reads five votes that no batch holds.
    db.execute_unprepared(&format!(
        "UPDATE counters SET votes = votes + 5 WHERE poll_id = {id} AND option_id = {}",
        options[0]
    ))
    .await
    .unwrap();
    let restarted = app.another_instance(|_| {}).await;
    let err = urna::verify::check(&restarted.addr, "honest", &[], None).await.unwrap_err().to_string();
    assert!(err.starts_with("totals:") && err.contains(&format!("option {}", options[0])), "{err}");
}
on_both_backends!(receipts_prove_votes_and_the_verifier_catches_each_tampering, super::receipts_and_an_honest_count);

async fn hidden_until_close(app: TestApp) {
    let poll = app.open_poll("hidden", json!({ "results_visibility": "after_close" })).await;
    let (id, options) = (poll["id"].as_i64().unwrap(), option_ids(&poll));
    for i in 0..5 {
        let a = app.vote("hidden", json!({ "option_id": options[i % 3] }), &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body["receipt"].is_object());
    }
    let heads = app.get("/api/polls/hidden/ledger/heads", &[]).await;
    assert_eq!(heads.body["revealed"], false);
    let shard = heads.body["heads"][0]["shard"].as_str().unwrap().to_owned();
    let path = format!("/api/polls/hidden/ledger?shard={shard}");
    let before = app.get(&path, &[]).await.body["entries"].as_array().unwrap().clone();
    for e in &before {
        assert!(e["deltas"].is_null() && e["salt"].is_null(), "nothing of the count shows: {e}");
        assert_eq!(e["commitment"].as_str().unwrap().len(), 64);
    }
    let summary = urna::verify::check(&app.addr, "hidden", &[], None).await.expect("links verify while hidden");
    assert!(summary.totals.starts_with("not compared"), "{}", summary.totals);

    close(&app, id).await;
    let after = app.get(&path, &[]).await.body["entries"].as_array().unwrap().clone();
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        let deltas: Vec<chain::Delta> = serde_json::from_value(a["deltas"].clone()).unwrap();
        let salt = chain::from_hex::<16>(a["salt"].as_str().unwrap()).unwrap();
        assert_eq!(
            chain::to_hex(&chain::commitment(&salt, &deltas, None)),
            b["commitment"].as_str().unwrap(),
            "what is revealed is what was committed to"
        );
    }
    let summary = urna::verify::check(&app.addr, "hidden", &[], None).await.expect("revealed, the count verifies");
    assert_eq!(summary.votes, Some(5));
}
on_both_backends!(hidden_results_show_commitments_until_close, super::hidden_until_close);

async fn without_receipts(app: TestApp) {
    let off = app.open_poll("plain", json!({ "receipts": false })).await;
    let a = app.vote("plain", json!({ "option_id": option_ids(&off)[0] }), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("receipt").is_none(), "receipts off: none in the answer");
    let fast = app.open_poll("quick", json!({ "ack": "fast" })).await;
    let a = app.vote("quick", json!({ "option_id": option_ids(&fast)[0] }), &[]).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert!(a.body.get("receipt").is_none(), "202 answers carry none");
    // Receipts change only before opening.
    let id = off["id"].as_i64().unwrap();
    let locked = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "receipts": true })).await;
    crate::helpers::assert_problem(&locked, 409, "ballot-locked");
    // The chain holds for a poll without receipts too.
    close(&app, id).await;
    urna::verify::check(&app.addr, "plain", &[], None).await.expect("a poll without receipts verifies");
}
on_both_backends!(receipts_off_and_fast_answers_carry_none, super::without_receipts);

async fn retried_flushes(app: TestApp) {
    let poll = app.open_poll("retried", json!({})).await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    // An answer lost after COMMIT, then a rollback: both retried.
    app.state.faults.fail_after_commit.store(1, Ordering::SeqCst);
    let lost = app.vote("retried", json!({ "option_id": option }), &[("idempotency-key", "k1")]).await;
    assert_eq!(lost.status, StatusCode::OK);
    app.state.faults.fail_before_commit.store(2, Ordering::SeqCst);
    let rolled = app.vote("retried", json!({ "option_id": option }), &[]).await;
    assert_eq!(rolled.status, StatusCode::OK);
    assert_eq!(app.state.faults.fail_before_commit.load(Ordering::SeqCst), 0, "the fault never fired");
    // A client's retry with its key gets the same receipt.
    let again = app.vote("retried", json!({ "option_id": option }), &[("idempotency-key", "k1")]).await;
    assert_eq!(again.body["receipt"], lost.body["receipt"]);
    close(&app, id).await;
    assert_eq!(ledger_matches_counters(&app.state.db, id).await, 2);
    let dir = tempfile::tempdir().unwrap();
    let files = [write_receipt(&dir, "lost.json", &lost.body), write_receipt(&dir, "rolled.json", &rolled.body)];
    let summary = urna::verify::check(&app.addr, "retried", &files, None).await.expect("retried batches verify");
    assert_eq!((summary.votes, summary.receipts), (Some(2), 2));
}
on_both_backends!(a_failed_then_retried_flush_keeps_one_entry_and_its_receipts, super::retried_flushes);

#[actix_web::test]
async fn twenty_thousand_votes_over_three_instances_verify() {
    let apps = Rc::new(spawn_cluster(3, &redis_url(), slow_db_sync).await);
    let (id, options) = open_everywhere(&apps, "many").await;
    let acked = vote_spread(&apps, "many", &options, 200, 100, Rc::new(Cell::new(false))).await;
    assert_eq!(acked, 20_000);
    close(&apps[0], id).await;
    assert_eq!(ledger_matches_counters(&apps[0].state.db, id).await, acked);
    for app in apps.iter() {
        eventually(Duration::from_secs(1), "every instance showing the exact total", || async {
            app.results("many").await["total_votes"] == acked
        })
        .await;
    }
    let summary = urna::verify::check(&apps[1].addr, "many", &[], None).await.expect("three chains verify");
    assert_eq!((summary.shards, summary.votes), (3, Some(acked)));
}
