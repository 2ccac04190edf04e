//! The web UI as the server renders it: what a browser (or a crawler, or a
//! phone with JavaScript off) receives before any script runs.
use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, option_ids, spawn_app};

#[actix_web::test]
async fn the_voting_page_is_rendered_with_the_poll_and_a_form_per_option() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.open_poll("page", json!({ "description": "Quem fica?", "language": "en" })).await;
    let res = app.client.get(app.url("/p/page")).send().await.unwrap();
    assert_eq!(res.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(res.headers().get("referrer-policy").unwrap(), "same-origin");
    let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'sha256-") && csp.contains("' 'wasm-unsafe-eval';"), "{csp}");
    assert!(csp.ends_with("; frame-ancestors 'none'"), "{csp}");
    assert!(!csp.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")), "{csp}");
    assert_eq!(res.headers().get("x-frame-options").unwrap(), "DENY");
    assert_eq!(res.headers().get("cross-origin-opener-policy").unwrap(), "same-origin");
    assert!(res.headers().get("permissions-policy").unwrap().to_str().unwrap().contains("camera=()"));
    assert!(res.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let (status, ct, html) = app.get_text("/p/page", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains("Poll page") && html.contains("Quem fica?"), "{html}");
    assert!(html.contains(r#"action="/p/page/vote?lang=en""#), "{html}");
    assert!(html.contains(r#"aria-label="Vote for A""#), "{html}");
    assert!(html.contains(r#"<script type="module" src="/pkg/boot.js">"#), "the page must load the hydration bundle");
    // Inline scripts (the render's data for hydration) run only as the
    // page's policy names them, by hash: the page is the same bytes for
    // every reader, so it carries no nonce.
    assert!(!html.contains("nonce"), "{html}");
    let inline: Vec<&str> = html
        .split("<script")
        .skip(1)
        .filter_map(|r| r.split_once('>'))
        .filter(|(tag, _)| !tag.contains("src="))
        .filter_map(|(_, rest)| rest.split_once("</script>").map(|s| s.0))
        .collect();
    assert!(!inline.is_empty(), "{html}");
    let res = app.client.get(app.url("/p/page")).send().await.unwrap();
    let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    for script in inline {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp} names each inline script");
    }

    // The address alone decides the language: the poll's own, whatever the
    // reader's browser or cookie says (a shared cache keeps one copy)...
    let (_, _, same) =
        app.get_text("/p/page", &[("accept-language", "pt-BR,pt;q=0.9"), ("cookie", "urna_lang=pt-BR")]).await;
    assert!(same.contains("<html lang=\"en\"") && same.contains("Vote for A"), "{same}");
    assert!(same.contains(r#"href="/p/page?lang=pt-BR""#), "the switch links to the other language: {same}");
    // ...or the one `?lang=` names.
    let (_, _, pt) = app.get_text("/p/page?lang=pt-BR", &[("accept-language", "en")]).await;
    assert!(pt.contains("<html lang=\"pt-BR\"") && pt.contains("Votar em A"), "{pt}");
    assert!(pt.contains(r#"action="/p/page/vote?lang=pt-BR""#), "{pt}");
    let (_, _, unknown) = app.get_text("/p/page?lang=fr", &[]).await;
    assert!(unknown.contains("Vote for A"), "an unknown language gets the poll's own: {unknown}");
    // Pages of no poll keep the reader's choice, then their browser's languages.
    let (_, _, home) = app.get_text("/", &[("accept-language", "pt-BR"), ("cookie", "urna_lang=en")]).await;
    assert!(home.contains("<html lang=\"en\""), "the language cookie outranks the browser's languages");
    let (_, _, home) = app.get_text("/?lang=pt-BR", &[("cookie", "urna_lang=en")]).await;
    assert!(home.contains("<html lang=\"pt-BR\""), "`?lang=` outranks the cookie");
}

#[actix_web::test]
async fn a_polls_language_is_set_and_changed_by_its_admin() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("lingua", json!({})).await;
    assert_eq!(poll["language"], "pt-BR", "pt-BR unless the admin says: {poll}");
    let (_, _, html) = app.get_text("/p/lingua", &[("accept-language", "en")]).await;
    assert!(html.contains("Votar em A"), "{html}");
    let id = poll["id"].as_i64().unwrap();
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "language": "en" })).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let public = app.get("/api/polls/lingua", &[]).await;
    assert_eq!(public.body["language"], "en");
    let (_, _, html) = app.get_text("/p/lingua", &[]).await;
    assert!(html.contains("Vote for A"), "the cached page followed the change: {html}");
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "language": "fr" })).await;
    crate::helpers::assert_problem(&a, 422, "invalid-body");
    let audit = app.admin_get("/api/admin/audit").await;
    assert!(audit.body.to_string().contains("\"language\""), "the change is audited: {}", audit.body);
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
    // A draft in another language than the reader's: its 404 is the reader's.
    app.create_poll(
        json!({ "slug": "draft", "title": "Draft", "language": "pt-BR", "options": [{"label": "A"}, {"label": "B"}] }),
    )
    .await;
    for path in ["/p/nope", "/p/draft", "/p/nope/live"] {
        let (status, _, html) = app.get_text(path, &[("accept-language", "en")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("There is no poll at this address."), "{path}: {html}");
    }
}

#[actix_web::test]
async fn the_live_page_is_rendered_with_the_results_and_a_qr_code() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("livepage", json!({ "language": "en" })).await;
    let option = option_ids(&poll)[1];
    for _ in 0..2 {
        app.vote("livepage", json!({ "option_id": option }), &[]).await;
    }
    let (status, _, html) = app.get_text("/p/livepage/live", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-testid="total-votes">2<"#), "{html}");
    assert!(html.contains("100.0%"), "{html}");
    assert!(html.contains(r#"src="/p/livepage/qr.svg""#), "{html}");

    let (status, ct, svg) = app.get_text("/p/livepage/qr.svg", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");

    let hidden = app.open_poll("secret", json!({ "results_visibility": "after_close" })).await;
    let (_, _, html) = app.get_text("/p/secret/live?lang=en", &[]).await;
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
        .post(app.url("/p/form/vote?lang=en"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("option_id={option}"))
        .await
        .unwrap();
    assert_eq!(res.headers().get("location").unwrap(), "/p/form?outcome=poll-closed&lang=en", "in the page's language");
    let (_, _, html) = app.get_text("/p/form?outcome=poll-closed&lang=en", &[]).await;
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
async fn pages_are_the_same_bytes_for_every_reader_until_the_poll_changes() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let poll = app.open_poll("once", json!({ "tracks": [{ "name": "main", "dedupe": "one_per_voter" }] })).await;
    let get = |path: &'static str, headers: Vec<(&'static str, String)>| {
        let mut req = app.client.get(app.url(path));
        for h in headers {
            req = req.insert_header(h);
        }
        async move {
            let mut res = req.send().await.unwrap();
            let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            let (etag, cookie) = (header("etag"), header("set-cookie"));
            assert_eq!(header("cache-control").as_deref(), Some("public, no-cache"));
            assert_eq!(header("cdn-cache-control").as_deref(), Some("public, max-age=1, stale-while-revalidate=5"));
            assert_eq!(header("vary").as_deref(), Some("Accept-Encoding"), "the address alone decides the bytes");
            let status = res.status();
            (status, etag.unwrap_or_default(), cookie, res.body().await.unwrap())
        }
    };
    let (status, etag, cookie, first) = get("/p/once", vec![]).await;
    assert_eq!((status, cookie), (StatusCode::OK, None), "no voter cookie with the page");
    // Another reader, with cookies of their own, gets the same bytes.
    let (_, etag2, _, second) =
        get("/p/once", vec![("cookie", "urna_voter=someone; urna_lang=en".into()), ("accept-language", "en".into())])
            .await;
    assert_eq!((&etag2, &second), (&etag, &first));
    let (status, _, _, empty) = get("/p/once", vec![("if-none-match", etag.clone())]).await;
    assert_eq!((status, empty.len()), (StatusCode::NOT_MODIFIED, 0));
    // Compressed once, sent as the reader accepts.
    let res = app.client.get(app.url("/p/once")).insert_header(("accept-encoding", "gzip")).send().await.unwrap();
    assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let (_, en, _, _) = get("/p/once?lang=en", vec![]).await;
    assert_ne!(en, etag, "each language its own page");
    assert_eq!(get("/p/once?lang=pt-BR", vec![]).await.1, etag, "the poll's own language, named or not");

    // The live page follows the results; the voting page, the poll.
    let (_, live, _, _) = get("/p/once/live", vec![]).await;
    let option = poll["options"][0]["id"].as_i64().unwrap();
    let token = crate::helpers::voter_token("page-reader");
    let a = app.vote("once", json!({ "option_id": option }), &[("x-voter-token", token.as_str())]).await;
    assert_eq!(a.status, StatusCode::OK);
    crate::helpers::eventually(std::time::Duration::from_secs(2), "the live page showing the vote", || async {
        get("/p/once/live", vec![]).await.1 != live
    })
    .await;
    assert_eq!(get("/p/once", vec![]).await.1, etag, "a vote leaves the voting page as it was");
    let id = poll["id"].as_i64().unwrap();
    assert_eq!(
        app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "title": "Renamed" })).await.status,
        StatusCode::OK
    );
    let (_, renamed, _, html) = get("/p/once", vec![]).await;
    assert_ne!(renamed, etag);
    assert!(String::from_utf8_lossy(&html).contains("Renamed"));

    // The voter cookie comes with the poll's API answer...
    let res = app.client.get(app.url("/api/polls/once")).send().await.unwrap();
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    assert!(cookies.iter().any(|c| c.starts_with("urna_voter=") && c.contains("HttpOnly")), "{cookies:?}");
    // ...or, without JavaScript, with the form's first vote, which it counts.
    let client = awc::Client::builder().disable_redirects().finish();
    let form = |cookie: Option<String>| {
        let mut req =
            client.post(app.url("/p/once/vote")).insert_header(("content-type", "application/x-www-form-urlencoded"));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        async move { req.send_body(format!("option_id={option}")).await.unwrap() }
    };
    let res = form(None).await;
    assert_eq!(res.headers().get("location").unwrap(), "/p/once?outcome=recorded");
    let voter = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("urna_voter="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("the form's first vote brings a voter cookie");
    let again = form(Some(voter)).await;
    assert_eq!(again.headers().get("location").unwrap(), "/p/once?outcome=already-voted");
    assert_eq!(app.results("once").await["total_votes"], 2);
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
        let (status, _, html) = app.get_text(path, &[]).await;
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
    let (_, _, html) = app.get_text("/p/powform?lang=en", &[]).await;
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
    let (_, _, html) = app.get_text("/p/powform?outcome=pow-required", &[("accept-language", "en")]).await;
    assert!(html.contains("Esta votação precisa de JavaScript"), "{html}");
    assert_eq!(app.results("powform").await["total_votes"], 0);
}

#[actix_web::test]
async fn a_poll_names_the_sites_that_may_embed_it_and_only_its_pages_change() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    let origins = json!(["https://tv.example", "https://Blog.Example.com:443/", "https://tv.example"]);
    let poll = app.open_poll("framed", json!({ "embed_origins": origins })).await;
    let id = poll["id"].as_i64().unwrap();
    let admin = app.admin_get(&format!("/api/admin/polls/{id}")).await;
    assert_eq!(admin.body["embed_origins"], json!(["https://tv.example", "https://blog.example.com"]));
    app.open_poll("plain", json!({})).await;

    let headers = |path: &'static str| {
        let app = &app;
        async move {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
            (res.status(), csp, res.headers().get("x-frame-options").map(|v| v.to_str().unwrap().to_owned()))
        }
    };
    for path in ["/p/framed/embed", "/p/framed", "/p/framed/live"] {
        let (status, csp, xfo) = headers(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(csp.ends_with("; frame-ancestors https://tv.example https://blog.example.com"), "{path}: {csp}");
        assert_eq!(xfo, None, "{path}: X-Frame-Options would forbid what the policy allows");
    }
    for path in ["/p/plain/embed", "/p/plain", "/api/polls/framed", "/admin"] {
        let (_, csp, xfo) = headers(path).await;
        assert!(csp.ends_with("; frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(xfo.as_deref(), Some("DENY"), "{path}");
    }
    // The embed is the ballot alone: no site bar, links open a new tab.
    let (_, _, html) = app.get_text("/p/framed/embed?lang=en", &[]).await;
    assert!(html.contains("ballot embedded") && !html.contains("class=\"topbar\""), "{html}");
    assert!(html.contains(r#"aria-label="Vote for A""#) && html.contains(r#"target="_blank""#), "{html}");

    // Cleared: the server's setting again.
    let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "embed_origins": [] })).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(headers("/p/framed/embed").await.1.ends_with("; frame-ancestors 'none'"));

    for bad in [
        json!(["ftp://tv.example"]),
        json!(["https://tv.example/page"]),
        json!(["https://tv.example/?q=1"]),
        json!(["https://user@tv.example"]),
        json!(["tv.example"]),
        json!(["'self'"]),
        json!((0..21).map(|i| format!("https://s{i}.example")).collect::<Vec<_>>()),
    ] {
        let a = app.admin_patch(&format!("/api/admin/polls/{id}"), &json!({ "embed_origins": bad })).await;
        crate::helpers::assert_problem(&a, 422, "invalid-body");
    }
}

#[actix_web::test]
async fn oembed_answers_a_rich_iframe_for_an_embeddable_poll_address() {
    let app = spawn_app(Backend::Sqlite, |_| {}).await;
    app.open_poll("shared", json!({ "title": "Quem fica?", "embed_origins": ["https://news.example"] })).await;
    app.open_poll("closed-door", json!({})).await;
    let q = |url: &str, extra: &str| format!("/oembed?url={}{extra}", percent(url));
    let page = app.url("/p/shared");

    let a = app.get(&q(&page, ""), &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!((a.body["version"].as_str(), a.body["type"].as_str()), (Some("1.0"), Some("rich")));
    assert_eq!((a.body["width"].as_u64(), a.body["height"].as_u64()), (Some(480), Some(520)));
    let html = a.body["html"].as_str().unwrap();
    assert!(html.starts_with(&format!(r#"<iframe src="{}""#, app.url("/p/shared/embed"))), "{html}");
    assert!(html.contains(r#"title="Quem fica?""#), "{html}");
    assert_eq!(a.body["provider_url"].as_str(), Some(app.addr.as_str()));

    // The other language, named in the address, stays in the embed.
    let en = app.get(&q(&app.url("/p/shared?lang=en"), ""), &[]).await;
    let html = en.body["html"].as_str().unwrap();
    assert!(html.starts_with(&format!(r#"<iframe src="{}""#, app.url("/p/shared/embed?lang=en"))), "{html}");
    let own = app.get(&q(&app.url("/p/shared?lang=pt-BR"), ""), &[]).await;
    assert!(own.body["html"].as_str().unwrap().contains("/p/shared/embed\""), "the poll's own needs no ?lang=");

    let small = app.get(&q(&app.url("/p/shared/live"), "&format=json&maxwidth=300&maxheight=200"), &[]).await;
    assert_eq!((small.body["width"].as_u64(), small.body["height"].as_u64()), (Some(300), Some(200)));
    assert!(small.body["html"].as_str().unwrap().contains(r#"width="300" height="200""#));

    crate::helpers::assert_problem(&app.get(&q(&page, "&format=xml"), &[]).await, 501, "format-not-implemented");
    for url in [
        "https://elsewhere.example/p/shared".to_owned(),
        app.url("/p/nope"),
        app.url("/p/closed-door"),
        app.url("/admin"),
        app.url("/p/shared/verify/x"),
        "not a url".to_owned(),
    ] {
        crate::helpers::assert_problem(&app.get(&q(&url, ""), &[]).await, 404, "url-not-embeddable");
    }
    crate::helpers::assert_problem(&app.get("/oembed", &[]).await, 400, "bad-query");
    crate::helpers::assert_problem(&app.get(&q(&page, "&format=yaml"), &[]).await, 400, "bad-query");
    crate::helpers::assert_problem(&app.get(&q(&page, "&maxwidth=0&format=xml"), &[]).await, 400, "bad-query");
    // Past the document's 32-bit range is refused before the format is answered.
    let huge = app.get(&q(&page, "&maxheight=2147483648&format=xml"), &[]).await;
    crate::helpers::assert_problem(&huge, 400, "bad-query");
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A built site's `pkg/`: hashed names in a manifest, each with made-up
/// brotli and gzip copies (the server only picks one).
fn fake_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let names = [
        ("urna.js", "urna.00112233aabbccdd.js"),
        ("urna.wasm", "urna.44556677eeff0011.wasm"),
        ("urna.css", "urna.8899aabbccddeeff.css"),
        ("boot.js", "boot.0011223344556677.js"),
        ("pow-worker.js", "pow-worker.1122334455667788.js"),
    ];
    for (_, hashed) in names {
        std::fs::write(pkg.join(hashed), format!("plain {hashed}")).unwrap();
        std::fs::write(pkg.join(format!("{hashed}.br")), format!("br {hashed}")).unwrap();
        std::fs::write(pkg.join(format!("{hashed}.gz")), format!("gz {hashed}")).unwrap();
    }
    let manifest: serde_json::Map<String, serde_json::Value> =
        names.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    std::fs::write(pkg.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    dir
}

#[actix_web::test]
async fn hashed_assets_are_cached_forever_and_sent_precompressed() {
    let site = fake_site();
    let root = site.path().to_string_lossy().into_owned();
    let app = spawn_app(Backend::Sqlite, |s| s.site_root = root).await;
    app.open_poll("assets", json!({})).await;
    let (_, _, html) = app.get_text("/p/assets", &[]).await;
    for linked in [
        r#"<link rel="stylesheet" href="/pkg/urna.8899aabbccddeeff.css">"#,
        r#"<script type="module" src="/pkg/boot.0011223344556677.js">"#,
        r#"data-pow-worker="/pkg/pow-worker.1122334455667788.js""#,
    ] {
        assert!(html.contains(linked), "{linked} in {html}");
    }
    // boot.js fetches the bundle once the page is painted; nothing preloads it.
    assert!(!html.contains(".wasm") && !html.contains("modulepreload"), "{html}");

    let fetch = |accept: &'static str, etag: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req =
                app.client.get(app.url("/pkg/urna.44556677eeff0011.wasm")).insert_header(("accept-encoding", accept));
            if let Some(e) = etag {
                req = req.insert_header(("if-none-match", e));
            }
            let mut res = req.send().await.unwrap();
            let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let (ct, ce, cc, vary, tag) =
                (h("content-type"), h("content-encoding"), h("cache-control"), h("vary"), h("etag"));
            let body = res.body().await.unwrap();
            (res.status(), ct, ce, cc, vary, tag, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, ct, ce, cc, vary, etag, body) = fetch("gzip, deflate, br, zstd", None).await;
    assert_eq!((status, ct.as_str(), ce.as_str()), (StatusCode::OK, "application/wasm", "br"));
    assert_eq!(body, "br urna.44556677eeff0011.wasm");
    assert_eq!(cc, "public, max-age=31536000, immutable");
    assert_eq!((vary.as_str(), etag.as_str()), ("Accept-Encoding", "\"44556677eeff0011\""));
    let (_, _, ce, _, _, _, body) = fetch("gzip;q=1, br;q=0", None).await;
    assert_eq!((ce.as_str(), body.as_str()), ("gzip", "gz urna.44556677eeff0011.wasm"));
    let (_, _, ce, _, _, _, body) = fetch("identity", None).await;
    assert_eq!((ce.as_str(), body.as_str()), ("", "plain urna.44556677eeff0011.wasm"));
    let (status, _, _, _, _, _, body) = fetch("br", Some("\"44556677eeff0011\"")).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));

    // Plain names are not served when the site has hashed ones.
    assert_eq!(app.client.get(app.url("/pkg/urna.wasm")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.client.get(app.url("/pkg/..%2Fmanifest.json")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
