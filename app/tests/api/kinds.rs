//! Poll kinds: `multiple` (a set of options) and `ranked` (an instant
//! runoff), counted exactly, refused with their own codes, one per voter,
//! retried with a key, in receipts and the public ledger, across instances.
use std::path::PathBuf;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use api::ledger::Receipt;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::cluster::slow_db_sync;
use crate::helpers::{TestApp, assert_problem, eventually, option_ids, redis_url, spawn_cluster, voter_token};
use crate::on_both_backends;
use crate::verify::ledger_matches_counters;

const FOUR: &str = r#"[{"label": "Ana"}, {"label": "Bruno"}, {"label": "Carla"}, {"label": "Davi"}]"#;

async fn open(app: &TestApp, slug: &str, extra: Value) -> (i64, Vec<i64>) {
    let mut extra = extra;
    extra["options"] = serde_json::from_str(FOUR).unwrap();
    let poll = app.open_poll(slug, extra).await;
    (poll["id"].as_i64().unwrap(), option_ids(&poll))
}

async fn close(app: &TestApp, id: i64) {
    let a = app.admin_post(&format!("/api/admin/polls/{id}/close"), &json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "close failed: {:?}", a.body);
}

/// The results once the first track's runoff counts all `n` ballots (it
/// is recounted at most every quarter second while votes arrive).
async fn settled(app: &TestApp, slug: &str, n: i64) -> Value {
    eventually(Duration::from_secs(3), "the runoff counting every ballot", || async {
        let track = &app.results(slug).await["tracks"][0];
        let first = &track["instant_runoff"]["rounds"][0];
        let counted: i64 =
            first["counts"].as_array().map_or(0, |c| c.iter().map(|c| c["votes"].as_i64().unwrap()).sum());
        counted + first["exhausted"].as_i64().unwrap_or(0) == n
    })
    .await;
    app.results(slug).await
}

fn counts(track: &Value) -> Vec<i64> {
    track["options"].as_array().unwrap().iter().map(|o| o["votes"].as_i64().unwrap()).collect()
}

async fn multiple_choice(app: TestApp) {
    let (id, o) = open(&app, "pick", json!({ "kind": "multiple", "max_choices": 2 })).await;
    let poll = app.get("/api/polls/pick", &[]).await.body;
    assert_eq!(
        (poll["kind"].as_str(), poll["min_choices"].as_i64(), poll["max_choices"].as_i64()),
        (Some("multiple"), Some(1), Some(2))
    );
    for _ in 0..3 {
        let a = app.vote("pick", json!({ "option_ids": [o[1], o[0]] }), &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["choices"], json!([o[0], o[1]]), "a set comes back in id order");
        assert_eq!(a.body["receipt"]["choices"], json!([o[0], o[1]]));
    }
    for _ in 0..2 {
        assert_eq!(app.vote("pick", json!({ "option_ids": [o[2]] }), &[]).await.status, StatusCode::OK);
    }
    // Bad ballots, each with its code; none of them counts.
    let bad = [
        (json!({ "option_ids": [o[0], o[0]] }), "repeated-choice"),
        (json!({ "option_ids": [o[0], o[1], o[2]] }), "too-many-choices"),
        (json!({ "option_ids": [] }), "too-few-choices"),
        (json!({ "option_ids": [o[0], 987_654] }), "unknown-choice"),
        (json!({ "option_id": o[0] }), "wrong-ballot-kind"),
        (json!({ "ranking": [o[0]] }), "wrong-ballot-kind"),
        (json!({}), "too-few-choices"),
    ];
    for (body, code) in bad {
        assert_problem(&app.vote("pick", body, &[]).await, 422, code);
    }
    let r = app.results("pick").await;
    let track = &r["tracks"][0];
    assert_eq!(counts(track), vec![3, 3, 2, 0]);
    assert_eq!(
        (track["ballots"].as_i64(), track["total"].as_i64(), r["total_votes"].as_i64()),
        (Some(5), Some(8), Some(5))
    );
    assert_eq!(track["options"][0]["percent"], 60.0, "a choice's share is of the ballots");
    assert!(track["instant_runoff"].is_null());

    close(&app, id).await;
    assert_eq!(ledger_matches_counters(&app.state.db, id).await, 8, "each choice is a counter delta");
    let summary = urna::verify::check(&app.addr, "pick", &[], None).await.expect("the multiple poll verifies");
    assert_eq!(summary.votes, Some(5), "the ledger counts ballots");
}
on_both_backends!(a_multiple_choice_ballot_counts_once_for_each_choice, super::multiple_choice);

/// Ana 4, Bruno 3, Carla 2, Davi 1. Davi goes (to Carla); Bruno and Carla
/// then tie at 3 and Carla had fewer in round 1, so she goes (to Bruno, and
/// Davi's ballot is exhausted); Bruno wins 5 to 4 of 9.
fn ranked_ballots(o: &[i64]) -> Vec<Value> {
    let mut v = Vec::new();
    v.extend(std::iter::repeat_n(json!([o[0]]), 4));
    v.extend(std::iter::repeat_n(json!([o[1], o[0]]), 3));
    v.extend(std::iter::repeat_n(json!([o[2], o[1]]), 2));
    v.push(json!([o[3], o[2]]));
    v
}

async fn ranked_choice(app: TestApp) {
    let (id, o) = open(&app, "rank", json!({ "kind": "ranked" })).await;
    let mut answers = Vec::new();
    for ranking in ranked_ballots(&o) {
        let a = app.vote("rank", json!({ "ranking": ranking }), &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["choices"], ranking, "a ranking keeps its order");
        assert_eq!(a.body["option_id"], ranking[0]);
        answers.push(a.body);
    }
    assert_problem(&app.vote("rank", json!({ "ranking": [o[1], o[1]] }), &[]).await, 422, "repeated-choice");
    assert_problem(&app.vote("rank", json!({ "option_ids": [o[1]] }), &[]).await, 422, "wrong-ballot-kind");

    // A retry with the same key gets the first answer; another ranking with it is refused.
    let key = [("idempotency-key", "rank-retry-1")];
    let first = app.vote("rank", json!({ "ranking": [o[1], o[0]] }), &key).await;
    let again = app.vote("rank", json!({ "ranking": [o[1], o[0]] }), &key).await;
    assert_eq!((first.status, again.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first.body, again.body, "the replay is the first answer, receipt and all");
    assert_problem(&app.vote("rank", json!({ "ranking": [o[0], o[3]] }), &key).await, 422, "idempotency-key-reused");

    let r = settled(&app, "rank", 11).await;
    let track = &r["tracks"][0];
    // The ten ballots and the retried one: Ana 4, Bruno 4, Carla 2, Davi 1.
    assert_eq!(counts(track), vec![4, 4, 2, 1], "first preferences");
    assert_eq!(track["ballots"], 11);
    let irv = &track["instant_runoff"];
    let rounds = irv["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{irv}");
    assert_eq!(rounds[0]["eliminated"], json!([o[3]]), "Davi, the fewest");
    assert_eq!(rounds[1]["counts"][2], json!({ "option_id": o[2], "votes": 3 }), "Davi's ballot moved to Carla");
    assert_eq!(rounds[1]["eliminated"], json!([o[2]]), "Carla, now the fewest");
    assert_eq!(rounds[2]["counts"], json!([{ "option_id": o[0], "votes": 4 }, { "option_id": o[1], "votes": 6 }]));
    assert_eq!(rounds[2]["exhausted"], 1, "Davi's ballot ranked no one left");
    assert_eq!(irv["winner"], o[1]);

    // Storage grows with distinct rankings, not ballots.
    let db = &app.state.db;
    let rows = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n, CAST(SUM(votes) AS BIGINT) AS s FROM ballots WHERE poll_id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows.try_get::<i64>("", "n").unwrap(), 4, "11 ballots, 4 distinct rankings");
    assert_eq!(rows.try_get::<i64>("", "s").unwrap(), 11);

    close(&app, id).await;
    let entries = app.get("/api/polls/rank/ledger/heads", &[]).await.body;
    let shard = entries["heads"][0]["shard"].as_str().unwrap().to_owned();
    let page = app.get(&format!("/api/polls/rank/ledger?shard={shard}"), &[]).await.body;
    let b = &page["entries"][0]["ballots"][0];
    assert!(b["track_id"].is_i64() && b["choices"].is_array() && b["delta"].as_i64().unwrap() > 0, "{page}");

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = answers
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, a)| {
            let receipt: Receipt = serde_json::from_value(a["receipt"].clone()).unwrap();
            receipt.check_path().expect("a ballot's path leads to its root");
            let path = dir.path().join(format!("r{i}.json"));
            std::fs::write(&path, a.to_string()).unwrap();
            path
        })
        .collect();
    let summary = urna::verify::check(&app.addr, "rank", &files, None).await.expect("the ranked count verifies");
    assert_eq!((summary.votes, summary.receipts), (Some(11), 4));

    // A receipt whose ranking is reordered does not hold.
    let mut forged = answers[5]["receipt"].clone();
    forged["choices"] = json!([o[0], o[1]]);
    let path = dir.path().join("forged.json");
    std::fs::write(&path, forged.to_string()).unwrap();
    let err = urna::verify::check(&app.addr, "rank", &[path], None).await.unwrap_err().to_string();
    assert!(err.contains("audit path"), "{err}");

    // A ballot rewritten in the ledger breaks its entry's hash.
    let (original, set) = crate::verify::first_batch(db, id).await;
    let mut outcome: Value = serde_json::from_str(&original).unwrap();
    outcome["ballots"][0][1] = json!([o[3]]);
    db.execute_raw(set(outcome.to_string())).await.unwrap();
    let err = urna::verify::check(&app.addr, "rank", &[], None).await.unwrap_err().to_string();
    assert!(err.contains("seq=1"), "{err}");
}
on_both_backends!(a_ranked_poll_counts_an_instant_runoff_anyone_can_recount, super::ranked_choice);

async fn one_ranking_per_voter(app: TestApp) {
    let extra = json!({
        "kind": "ranked",
        "min_choices": 2,
        "voter_identity": "token",
        "tracks": [{ "name": "fans", "dedupe": "one_per_voter" }],
    });
    let (_, o) = open(&app, "once", extra).await;
    let ana = voter_token("ana");
    let token = [("x-voter-token", ana.as_str())];
    assert_problem(&app.vote("once", json!({ "ranking": [o[0]] }), &token).await, 422, "too-few-choices");
    assert_eq!(app.vote("once", json!({ "ranking": [o[0], o[2]] }), &token).await.status, StatusCode::OK);
    assert_problem(&app.vote("once", json!({ "ranking": [o[1], o[2]] }), &token).await, 409, "already-voted");
    assert_problem(&app.vote("once", json!({ "ranking": [o[1], o[2]] }), &[]).await, 401, "voter-credential-required");
    let track = &settled(&app, "once", 1).await["tracks"][0];
    assert_eq!((track["ballots"].as_i64(), track["instant_runoff"]["winner"].as_i64()), (Some(1), Some(o[0])));

    // The ballot rule is checked against the options and locked once open.
    let bad = |extra: Value| {
        let mut body = json!({ "slug": "bad-kind", "title": "t", "options": [{"label": "A"}, {"label": "B"}] });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for extra in [
        json!({ "kind": "ranked", "max_choices": 3 }),
        json!({ "kind": "multiple", "min_choices": 2, "max_choices": 1 }),
        json!({ "min_choices": 2 }),
    ] {
        assert_problem(&app.admin_post("/api/admin/polls", &bad(extra)).await, 422, "invalid-body");
    }
    let poll = app.get("/api/polls/once", &[]).await.body;
    let a = app.admin_patch(&format!("/api/admin/polls/{}", poll["id"]), &json!({ "kind": "single" })).await;
    assert_problem(&a, 409, "ballot-locked");
}
on_both_backends!(a_ranking_counts_once_per_voter_and_the_rule_is_checked, super::one_ranking_per_voter);

#[actix_web::test]
async fn ranked_results_agree_on_every_instance() {
    let apps = spawn_cluster(2, &redis_url(), slow_db_sync).await;
    let (_, o) = open(&apps[0], "spread-rank", json!({ "kind": "ranked" })).await;
    eventually(Duration::from_secs(1), "the poll reaching the other instance", || async {
        apps[1].get("/api/polls/spread-rank", &[]).await.status == StatusCode::OK
    })
    .await;
    for (i, ranking) in ranked_ballots(&o).into_iter().enumerate() {
        let a = apps[i % 2].vote("spread-rank", json!({ "ranking": ranking }), &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }
    for app in &apps {
        eventually(Duration::from_secs(1), "each instance counting both shards' rankings", || async {
            let track = &app.results("spread-rank").await["tracks"][0];
            track["ballots"] == 10 && track["instant_runoff"]["winner"] == o[1]
        })
        .await;
    }
}

#[actix_web::test]
async fn the_voting_page_form_casts_sets_and_rankings_without_javascript() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |_| {}).await;
    let (_, o) = open(&app, "form-pick", json!({ "kind": "multiple", "max_choices": 2 })).await;
    let (_, r) = open(&app, "form-rank", json!({ "kind": "ranked", "max_choices": 3 })).await;
    let (_, _, html) = app.get_text("/p/form-pick?lang=en", &[]).await;
    assert!(
        html.contains(r#"type="checkbox" name="option_ids""#) && html.contains("Choose up to 2 options."),
        "{html}"
    );
    let (_, _, html) = app.get_text("/p/form-rank", &[("accept-language", "en")]).await;
    assert_eq!(html.matches(r#"<select name="ranking""#).count(), 3, "one select per place: {html}");
    assert!(html.contains("1ª escolha"), "{html}");

    let client = awc::Client::builder().disable_redirects().finish();
    let post = |slug: &'static str, body: String| {
        let req = client.post(app.url(&format!("/p/{slug}/vote")));
        async move {
            let res =
                req.insert_header(("content-type", "application/x-www-form-urlencoded")).send_body(body).await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            res.headers().get("location").unwrap().to_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        post("form-pick", format!("option_ids={}&option_ids={}", o[2], o[0])).await,
        "/p/form-pick?outcome=recorded"
    );
    assert_eq!(post("form-pick", String::new()).await, "/p/form-pick?outcome=too-few-choices");
    // Places left blank are skipped; the order of the fields is the ranking.
    assert_eq!(
        post("form-rank", format!("ranking={}&ranking=&ranking={}", r[1], r[0])).await,
        "/p/form-rank?outcome=recorded"
    );
    assert_eq!(
        post("form-rank", format!("ranking={}&ranking={}", r[1], r[1])).await,
        "/p/form-rank?outcome=repeated-choice"
    );
    let (_, _, html) = app.get_text("/p/form-rank?outcome=repeated-choice&lang=en", &[]).await;
    assert!(html.contains("Each option can be chosen only once."), "{html}");

    assert_eq!(counts(&app.results("form-pick").await["tracks"][0]), vec![1, 0, 1, 0]);
    let ranked = &settled(&app, "form-rank", 1).await["tracks"][0];
    assert_eq!(counts(ranked), vec![0, 1, 0, 0]);
    assert_eq!(ranked["instant_runoff"]["winner"], r[1]);
}

async fn exported(app: TestApp) {
    // A receiver that keeps every delivery's body.
    let bodies = web::Data::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let keep = |body: web::Json<Value>, seen: web::Data<std::sync::Mutex<Vec<Value>>>| async move {
        seen.lock().unwrap().push(body.into_inner());
        HttpResponse::Ok().finish()
    };
    let port = crate::webhook::spawn_receiver(bodies.clone(), keep);
    let hook = format!("http://127.0.0.1:{port}/hook");
    let (id, o) = open(&app, "export-rank", json!({ "kind": "ranked", "webhook_url": hook })).await;
    for ranking in ranked_ballots(&o) {
        assert_eq!(app.vote("export-rank", json!({ "ranking": ranking }), &[]).await.status, StatusCode::OK);
    }
    // Every delivery lists the ballots its batch counted: ten in all.
    eventually(Duration::from_secs(10), "the webhook receiving every ballot", || {
        let sum: i64 = bodies
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| b["ballots"].as_array().cloned().unwrap_or_default())
            .map(|b| b["delta"].as_i64().unwrap_or(0))
            .sum();
        async move { sum == 10 }
    })
    .await;
    let first = bodies.lock().unwrap()[0].clone();
    assert!(first["ballots"][0]["choices"].is_array() && first["counts"].is_array(), "{first}");

    // The CSV: first preferences, the ballots, then each runoff round.
    close(&app, id).await;
    let (_, _, csv) =
        app.get_text(&format!("/api/admin/polls/{id}/export.csv"), &[("cookie", &app.admin_cookie)]).await;
    assert!(csv.contains(",ballots,10,100.00"), "{csv}");
    assert!(csv.contains("main: round 1,,") && csv.contains("main: round 3,,"), "{csv}");
    assert!(!csv.contains("main: round 4"), "{csv}");
}
on_both_backends!(ranked_ballots_go_out_in_the_csv_and_in_each_webhook_delivery, super::exported);
