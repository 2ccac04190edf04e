//! The web UI as the server renders it: what a browser (or a crawler, or a
//! phone with JavaScript off) receives before any script runs.
use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, option_ids, spawn_app};

#[actix_web::test]
async fn the_voting_page_is_rendered_with_the_poll_and_a_form_per_option() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.open_poll("page", json!({ "description": "Quem fica?" })).await;
    let res = app.client.get(app.url("/p/page")).send().await.unwrap();
    assert_eq!(res.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(res.headers().get("referrer-policy").unwrap(), "same-origin");
    let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'nonce-") && csp.contains("' 'wasm-unsafe-eval';"), "{csp}");
    assert!(csp.ends_with("; frame-ancestors 'none'"), "{csp}");
    assert!(!csp.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")), "{csp}");
    assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
    assert_eq!(res.headers().get("cross-origin-opener-policy").unwrap(), "same-origin");
    assert!(res.headers().get("permissions-policy").unwrap().to_str().unwrap().contains("camera=()"));
    assert!(res.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let (status, ct, html) = app.get_text("/p/page", &[("accept-language", "en-US,en")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains("Poll page") && html.contains("Quem fica?"), "{html}");
    assert!(html.contains(r#"action="/p/page/vote""#), "{html}");
    assert!(html.contains(r#"aria-label="Vote for A""#), "{html}");
    assert!(html.contains(r#"<script type="module" src="/pkg/boot.js">"#), "the page must load the hydration bundle");
    // Inline scripts (the render's data for hydration) run only with this
    // page's nonce, which its policy names; a new page gets a new nonce.
    let page = || async {
        let mut res = app.client.get(app.url("/p/page")).send().await.unwrap();
        let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
        let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default().to_owned();
        (nonce, String::from_utf8(res.body().await.unwrap().to_vec()).unwrap())
    };
    let (nonce, html) = page().await;
    assert!(nonce.len() >= 16, "a nonce in the page's CSP: {nonce:?}");
    let inline = html.matches("<script").count() - html.matches("<script type=\"module\" src=").count();
    assert!(inline >= 1, "{html}");
    assert_eq!(html.matches(&format!("<script nonce=\"{nonce}\">")).count(), inline, "{html}");
    let (again, _) = page().await;
    assert_ne!(again, nonce, "each page gets its own nonce");

    let (_, _, pt) = app.get_text("/p/page", &[("accept-language", "pt-BR,pt;q=0.9")]).await;
    assert!(pt.contains("<html lang=\"pt-BR\"") && pt.contains("Votar em A"), "{pt}");
    let (_, _, cookie) = app.get_text("/p/page", &[("accept-language", "pt-BR"), ("cookie", "urna_lang=en")]).await;
    assert!(cookie.contains("Vote for A"), "the language cookie outranks the browser's languages");
}

#[actix_web::test]
async fn a_host_named_in_frame_ancestors_may_embed_the_pages() {
    let app = spawn_app(Backend::Sqlite, |s| s.frame_ancestors = "https://tv.example".into()).await;
    app.open_poll("embed", json!({})).await;
    let res = app.client.get(app.url("/p/embed")).send().await.unwrap();
    let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.ends_with("; frame-ancestors https://tv.example"), "{csp}");
    assert!(res.headers().get("x-frame-options").is_none());
}

#[actix_web::test]
async fn unknown_polls_and_drafts_get_a_404_page() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.create_poll(json!({ "slug": "draft", "title": "Draft", "options": [{"label": "A"}, {"label": "B"}] })).await;
    for path in ["/p/nope", "/p/draft", "/p/nope/live"] {
        let (status, _, html) = app.get_text(path, &[("accept-language", "en")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("There is no poll at this address."), "{path}: {html}");
    }
}

#[actix_web::test]
async fn the_live_page_is_rendered_with_the_results_and_a_qr_code() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("livepage", json!({})).await;
    let option = option_ids(&poll)[1];
    for _ in 0..2 {
        app.vote("livepage", json!({ "option_id": option }), &[]).await;
    }
    let (status, _, html) = app.get_text("/p/livepage/live", &[("accept-language", "en")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-testid="total-votes">2<"#), "{html}");
    assert!(html.contains("100.0%"), "{html}");
    assert!(html.contains(r#"src="/p/livepage/qr.svg""#), "{html}");

    let (status, ct, svg) = app.get_text("/p/livepage/qr.svg", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");

    let hidden = app.open_poll("secret", json!({ "results_visibility": "after_close" })).await;
    let (_, _, html) = app.get_text("/p/secret/live", &[("accept-language", "en")]).await;
    assert!(html.contains("Results will be published when voting closes."), "{hidden}: {html}");
    assert!(!html.contains("total-votes"), "hidden results leak: {html}");
}

#[actix_web::test]
async fn the_form_vote_counts_and_redirects_back_with_its_outcome() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("form", json!({})).await;
    let (option, track) = (option_ids(&poll)[2], poll["tracks"][0]["id"].as_i64().unwrap());
    // A browser follows the redirect; here it is the answer under test.
    let client = awc::Client::builder().disable_redirects().finish();
    let res = client
        .post(app.url("/p/form/vote"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("option_id={option}&track={track}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get("location").unwrap(), format!("/p/form?outcome=recorded&track={track}").as_str());
    assert_eq!(app.results("form").await["total_votes"], 1);

    app.admin_post(&format!("/api/admin/polls/{}/close", poll["id"]), &json!({})).await;
    let res = client
        .post(app.url("/p/form/vote"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("option_id={option}"))
        .await
        .unwrap();
    assert_eq!(res.headers().get("location").unwrap(), "/p/form?outcome=poll-closed");
    let (_, _, html) = app.get_text("/p/form?outcome=poll-closed", &[("accept-language", "en")]).await;
    assert!(html.contains("Voting is closed. This vote was not counted."), "{html}");
}

#[actix_web::test]
async fn a_malformed_voting_form_gets_a_problem_not_a_page() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.open_poll("badform", json!({})).await;
    let a = app.post_raw("/p/badform/vote", "application/x-www-form-urlencoded", "option_id=lots").await;
    crate::helpers::assert_problem(&a, 422, "invalid-body");
    let a = app.post_raw("/p/badform/vote", "text/plain", "option_id=1").await;
    crate::helpers::assert_problem(&a, 415, "unsupported-media-type");
    let a = app.post_raw("/p/badform/vote", "application/x-www-form-urlencoded", "x".repeat(10_000)).await;
    crate::helpers::assert_problem(&a, 413, "payload-too-large");
}

#[actix_web::test]
async fn a_one_per_voter_poll_page_hands_out_the_voter_cookie() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.open_poll("once", json!({ "tracks": [{ "name": "main", "dedupe": "one_per_voter" }] })).await;
    let res = app.client.get(app.url("/p/once")).send().await.unwrap();
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    assert!(cookies.iter().any(|c| c.starts_with("urna_voter=") && c.contains("HttpOnly")), "{cookies:?}");
}

#[actix_web::test]
async fn hostile_markup_in_a_poll_is_rendered_as_text_on_every_page() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let title = "x</title><script>window.__pwned=1</script>";
    app.open_poll(
        "hostile",
        json!({
            "title": title,
            "description": "<img src=x onerror=window.__pwned=2>",
            "options": [{"label": "<script>window.__pwned=3</script>"}, {"label": "B"}],
        }),
    )
    .await;
    for path in ["/p/hostile", "/p/hostile/live"] {
        let (status, _, html) = app.get_text(path, &[("accept-language", "en")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("<script>window.__pwned"), "{path} carries a live script: {html}");
        assert!(!html.contains("<img src=x"), "{path} carries a live element: {html}");
        assert!(html.contains("<title>x&lt;/title&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;"), "{path}: {html}");
    }
}

#[actix_web::test]
async fn without_javascript_a_poll_with_proof_of_work_says_it_needs_javascript() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("powform", json!({ "pow": { "difficulty": 1000 } })).await;
    let option = option_ids(&poll)[0];
    let (_, _, html) = app.get_text("/p/powform", &[("accept-language", "en")]).await;
    assert!(html.contains("<noscript>") && html.contains("This poll needs JavaScript"), "{html}");
    let client = awc::Client::builder().disable_redirects().finish();
    let res = client
        .post(app.url("/p/powform/vote"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("option_id={option}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get("location").unwrap(), "/p/powform?outcome=pow-required");
    let (_, _, html) = app.get_text("/p/powform?outcome=pow-required", &[("accept-language", "pt-BR")]).await;
    assert!(html.contains("Esta votação precisa de JavaScript"), "{html}");
    assert_eq!(app.results("powform").await["total_votes"], 0);
}
