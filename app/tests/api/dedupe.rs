use std::rc::Rc;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, option_ids, voter_token};
use crate::on_both_backends;

async fn five_hundred_duplicates(app: TestApp) {
    let poll = app
        .open_poll(
            "referendum",
            json!({ "tracks": [{"name": "unico", "dedupe": "one_per_voter"}], "voter_identity": "token" }),
        )
        .await;
    let (id, option) = (poll["id"].as_i64().unwrap(), option_ids(&poll)[0]);
    let token = Rc::new(voter_token("maria@example.com"));
    let app = Rc::new(app);
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            actix_web::rt::spawn(async move {
                app.vote("referendum", json!({ "option_id": option }), &[("x-voter-token", token.as_str())]).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let a = t.await.unwrap();
        if a.status == StatusCode::OK {
            ok += 1;
        } else {
            assert_problem(&a, 409, "already-voted");
        }
    }
    assert_eq!(ok, 1, "exactly one of 500 concurrent votes by one voter counts");
    assert_eq!(app.db_counts(id).await.get(&option), Some(&1));
    assert_eq!(app.results("referendum").await["total_votes"], 1);
    // Another voter still can.
    let other = voter_token("joao@example.com");
    assert_eq!(
        app.vote("referendum", json!({ "option_id": option }), &[("x-voter-token", &other)]).await.status,
        StatusCode::OK
    );
    // Only keyed hashes of voters are stored, never the id itself.
    use sea_orm::EntityTrait;
    let marks = entity::voter_marks::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(marks.len(), 2);
    assert!(
        marks.iter().all(|m| m.voter_hash.len() == 32 && !String::from_utf8_lossy(&m.voter_hash).contains("maria"))
    );
}
on_both_backends!(five_hundred_concurrent_votes_by_one_voter_count_once, super::five_hundred_duplicates);

async fn token_rules(app: TestApp) {
    let poll = app
        .open_poll(
            "tok",
            json!({ "tracks": [{"name": "unico", "dedupe": "one_per_voter"}], "voter_identity": "token" }),
        )
        .await;
    let option = option_ids(&poll)[0];
    let vote = |h: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.vote("tok", json!({ "option_id": option }), &headers).await
        }
    };
    assert_problem(&vote(vec![]).await, 401, "voter-credential-required");
    let forged = voter_token("ana").replace("ana", "bia");
    assert_problem(&vote(vec![("x-voter-token", forged)]).await, 401, "voter-token-invalid");
    let expired = urna::vote::mint_token(&secrecy::SecretString::from(crate::helpers::VOTER_SECRET), "ana", 1);
    assert_problem(&vote(vec![("x-voter-token", expired)]).await, 401, "voter-token-invalid");
    assert_eq!(vote(vec![("x-voter-token", voter_token("ana"))]).await.status, StatusCode::OK);
    assert_problem(&vote(vec![("x-voter-token", voter_token("ana"))]).await, 409, "already-voted");
}
on_both_backends!(one_per_voter_tracks_demand_a_valid_unexpired_voter_token, super::token_rules);

async fn cookie_identity(app: TestApp) {
    let poll = app.open_poll("casual", json!({ "tracks": [{"name": "main", "dedupe": "one_per_voter"}] })).await;
    let option = option_ids(&poll)[1];
    assert_problem(&app.vote("casual", json!({ "option_id": option }), &[]).await, 401, "voter-credential-required");
    let page = app.get("/api/polls/casual", &[]).await;
    let cookie =
        page.set_cookie.iter().find(|c| c.starts_with("urna_voter=")).expect("voter cookie handed out").clone();
    let a = app.vote("casual", json!({ "option_id": option }), &[("cookie", &cookie)]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_problem(
        &app.vote("casual", json!({ "option_id": option }), &[("cookie", &cookie)]).await,
        409,
        "already-voted",
    );
    // Flip the signature's last hex digit.
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &cookie[..cookie.len() - 1]);
    assert_problem(
        &app.vote("casual", json!({ "option_id": option }), &[("cookie", &tampered)]).await,
        401,
        "voter-credential-required",
    );
}
on_both_backends!(a_casual_one_per_voter_poll_identifies_voters_by_signed_cookie, super::cookie_identity);
