use serde_json::json;

use crate::helpers::{TestApp, assert_problem, option_ids};
use crate::on_both_backends;

async fn bad_votes(app: TestApp) {
    let poll = app.open_poll("p", json!({})).await;
    let option = option_ids(&poll)[0];
    let two = app
        .open_poll(
            "two",
            json!({ "tracks": [{"name": "a", "dedupe": "unlimited"}, {"name": "b", "dedupe": "unlimited"}] }),
        )
        .await;
    let votes = "/api/polls/p/votes";
    assert_problem(&app.post_raw(votes, "application/json", "{\"option_id\": ").await, 400, "malformed-json");
    assert_problem(&app.post_raw(votes, "application/json", "not json").await, 400, "malformed-json");
    assert_problem(
        &app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}, \"extra\": 1}}")).await,
        422,
        "invalid-body",
    );
    assert_problem(&app.post_raw(votes, "application/json", "{\"option_id\": \"one\"}").await, 422, "invalid-body");
    // No ballot at all: this poll's kind says which field it needs.
    assert_problem(&app.post_raw(votes, "application/json", "{}").await, 422, "wrong-ballot-kind");
    let both = format!("{{\"option_id\": {option}, \"option_ids\": [{option}]}}");
    assert_problem(&app.post_raw(votes, "application/json", both).await, 422, "wrong-ballot-kind");
    assert_problem(&app.post_raw(votes, "application/json", "[]").await, 422, "invalid-body");
    // An array in the fields' order is not an object either.
    assert_problem(&app.post_raw(votes, "application/json", format!("[{option}]")).await, 422, "invalid-body");
    // A whole number written as a float is a whole number; a fraction is not.
    let float = app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}.0}}")).await;
    assert_eq!(float.status.as_u16(), 200, "{:?}", float.body);
    assert_problem(
        &app.post_raw(votes, "application/json", format!("{{\"option_id\": {option}.5}}")).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.post_raw(votes, "text/plain", format!("{{\"option_id\": {option}}}")).await,
        415,
        "unsupported-media-type",
    );
    let huge = format!("{{\"option_id\": {option}, \"track\": \"{}\"}}", "x".repeat(100_000));
    assert_problem(&app.post_raw(votes, "application/json", huge).await, 413, "payload-too-large");
    assert_problem(&app.vote("nope", json!({ "option_id": option }), &[]).await, 404, "poll-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": 999_999 }), &[]).await, 404, "option-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": option, "track": "ghost" }), &[]).await, 404, "track-not-found");
    assert_problem(&app.vote("p", json!({ "option_id": option, "track": 999_999 }), &[]).await, 404, "track-not-found");
    assert_problem(&app.vote("two", json!({ "option_id": option_ids(&two)[0] }), &[]).await, 422, "track-required");
    // An option of another poll is not an option of this one.
    assert_problem(&app.vote("two", json!({ "option_id": option, "track": "a" }), &[]).await, 404, "option-not-found");
    // Wrong method and unknown routes are problems too.
    assert_problem(&app.get(votes, &[]).await, 405, "method-not-allowed");
    let res = app.client.get(app.url(votes)).send().await.unwrap();
    assert_eq!(res.headers().get("allow").map(|v| v.to_str().unwrap()), Some("POST"), "a 405 says what is allowed");
    let res = app.client.put(app.url("/api/admin/polls/1")).send().await.unwrap();
    assert_eq!(res.headers().get("allow").map(|v| v.to_str().unwrap()), Some("GET, PATCH, DELETE"));
    assert_problem(&app.get("/api/nothing/here", &[]).await, 404, "route-not-found");
    // None of it counted, but the one whole float.
    assert_eq!(app.results("p").await["total_votes"], 1);
}
on_both_backends!(every_bad_vote_gets_a_problem_json_4xx_and_counts_nothing, super::bad_votes);

async fn bad_polls(app: TestApp) {
    let ok = |extra: serde_json::Value| {
        let mut b = json!({ "slug": "ok", "title": "T", "options": [{"label": "a"}, {"label": "b"}] });
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "slug": "Bad Slug" }))).await, 422, "invalid-body");
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "title": "" }))).await, 422, "invalid-body");
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "options": [{"label": "only"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "options": [{"label": "a"}, {"label": "A"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "options": [{"label": "a"}, {"label": "b", "image_url": "javascript:x"}] })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "tracks": [] }))).await, 422, "invalid-body");
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "tracks": [{"name": "a", "dedupe": "sometimes"}] }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "tracks": [{"name": "a", "dedupe": "unlimited", "weight": 0}] })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "results_visibility": "public" }))).await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post(
            "/api/admin/polls",
            &ok(json!({ "opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z" })),
        )
        .await,
        422,
        "invalid-body",
    );
    assert_problem(
        &app.admin_post("/api/admin/polls", &ok(json!({ "opens_at": "tomorrow" }))).await,
        422,
        "invalid-body",
    );
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({ "surprise": true }))).await, 422, "invalid-body");
    assert_eq!(app.admin_post("/api/admin/polls", &ok(json!({}))).await.status.as_u16(), 201);
    assert_problem(&app.admin_post("/api/admin/polls", &ok(json!({}))).await, 409, "slug-taken");
    assert_problem(&app.admin_get("/api/admin/polls/not-a-number").await, 404, "bad-path");
    assert_problem(&app.admin_post("/api/admin/polls/424242/open", &json!({})).await, 404, "poll-not-found");
    assert_problem(&app.admin_patch("/api/admin/polls/424242", &json!({ "title": "x" })).await, 404, "poll-not-found");
    // An edit that is an array, not an object, changes nothing.
    let created = app.admin_get("/api/admin/polls").await.body[0]["id"].as_i64().unwrap();
    assert_problem(
        &app.admin_patch(&format!("/api/admin/polls/{created}"), &json!([null, null])).await,
        422,
        "invalid-body",
    );
}
on_both_backends!(every_bad_poll_definition_gets_a_problem_json_4xx, super::bad_polls);

/// One HTTP/1.1 answer read off a bare connection: its status and body.
fn read_answer(conn: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> (u16, String) {
    use std::io::Read;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head[9..12].parse().unwrap();
            let len: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                buf.drain(..end + 4 + len);
                return (status, body);
            }
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).expect("the server answers within 10 s");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Votes as slow and pipelining clients send them, over a bare connection:
/// a head whose body comes in a later packet, then two whole votes in one
/// write. The server hands a vote the body it has already read before it
/// first calls it (vendor/actix-http); a body still on its way must still
/// be waited for, and pipelined votes answered in order.
#[actix_web::test]
async fn votes_that_arrive_in_pieces_or_pipelined_are_each_counted_once() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("raw", json!({})).await;
    let (option, other) = (option_ids(&poll)[0], option_ids(&poll)[1]);
    let request = |option: i64| {
        let body = format!("{{\"option_id\": {option}}}");
        let head = format!(
            "POST /api/polls/raw/votes HTTP/1.1\r\nHost: urna\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        (head, body)
    };
    let addr = app.addr.trim_start_matches("http://").to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_nodelay(true).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        // The head alone; its body after the server has had time to read it.
        let (head, body) = request(option);
        conn.write_all(head.as_bytes()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        conn.write_all(body.as_bytes()).unwrap();
        let split = read_answer(&mut conn, &mut buf);
        // Two votes, heads and bodies, in one write.
        let (h1, b1) = request(option);
        let (h2, b2) = request(other);
        conn.write_all(format!("{h1}{b1}{h2}{b2}").as_bytes()).unwrap();
        let first = read_answer(&mut conn, &mut buf);
        let second = read_answer(&mut conn, &mut buf);
        [split, first, second]
    })
    .await
    .unwrap();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let options: Vec<i64> = answers
        .iter()
        .map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).unwrap()["option_id"].as_i64().unwrap())
        .collect();
    assert_eq!(options, [option, option, other], "answers in the order asked");
    let counts = app.db_counts(poll["id"].as_i64().unwrap()).await;
    assert_eq!((counts.get(&option).copied(), counts.get(&other).copied()), (Some(2), Some(1)));
}
