//! Admin accounts: login throttling, session expiry, password change,
//! two-step login and the operator's reset.
use actix_web::http::StatusCode;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, ADMIN_PASSWORD, TestApp, assert_problem};
use crate::on_both_backends;

const IP_HEADER: &str = "x-test-client-ip";

async fn login_from(app: &TestApp, ip: &str, user: &str, password: &str) -> crate::helpers::Answer {
    app.post("/api/admin/login", &json!({ "username": user, "password": password }), &[(IP_HEADER, ip)]).await
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let a = app.admin_get("/api/admin/audit").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

async fn me(app: &TestApp, cookie: &str) -> StatusCode {
    app.get("/api/admin/me", &[("cookie", cookie)]).await.status
}

async fn ten_failures_lock_the_username_and_the_address_for_fifteen_minutes(app: TestApp) {
    for i in 0..10 {
        let a = login_from(&app, "198.51.100.1", ADMIN, &format!("wrong {i}")).await;
        assert_problem(&a, 401, "login-failed");
    }
    // The right password from another address: the username is locked.
    let a = login_from(&app, "203.0.113.7", ADMIN, ADMIN_PASSWORD).await;
    assert_problem(&a, 429, "login-throttled");
    let wait: i64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((840..=900).contains(&wait), "Retry-After {wait}");
    // Another username from the first address: the address is locked.
    let a = login_from(&app, "198.51.100.1", "someone-else", "whatever").await;
    assert_problem(&a, 429, "login-throttled");
    // A third address and a third name are not.
    assert_problem(&login_from(&app, "192.0.2.3", "someone-else", "whatever").await, 401, "login-failed");
    let actions = audit_actions(&app).await;
    // The tenth failure locked both keys at once: one audit row.
    assert_eq!(actions.iter().filter(|a| *a == "admin.login_throttled").count(), 1, "{actions:?}");
}
on_both_backends!(
    failed_logins_are_throttled_per_address_and_per_username,
    super::ten_failures_lock_the_username_and_the_address_for_fifteen_minutes,
    |s| s.client_ip_header = Some(super::IP_HEADER.into())
);

async fn a_success_starts_the_count_again(app: TestApp) {
    for _ in 0..9 {
        assert_problem(&login_from(&app, "198.51.100.2", ADMIN, "wrong").await, 401, "login-failed");
    }
    assert_eq!(login_from(&app, "198.51.100.2", ADMIN, ADMIN_PASSWORD).await.status, StatusCode::OK);
    for _ in 0..9 {
        assert_problem(&login_from(&app, "198.51.100.2", ADMIN, "wrong").await, 401, "login-failed");
    }
    assert_eq!(login_from(&app, "198.51.100.2", ADMIN, ADMIN_PASSWORD).await.status, StatusCode::OK);
}
on_both_backends!(a_successful_login_resets_the_failure_count, super::a_success_starts_the_count_again, |s| {
    s.client_ip_header = Some(super::IP_HEADER.into())
});

/// Moves a session's clocks back by `idle` and `age`.
async fn age_session(app: &TestApp, cookie: &str, idle: chrono::Duration, age: chrono::Duration) {
    use sea_orm::ActiveModelTrait;
    let token = cookie.split_once('=').unwrap().1;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let s = entity::sessions::Entity::find_by_id(hash).one(&app.state.db).await.unwrap().unwrap();
    let mut s: entity::sessions::ActiveModel = s.into();
    let now = Utc::now();
    s.last_seen_at = sea_orm::Set(Some(now - idle));
    s.created_at = sea_orm::Set(now - age);
    s.update(&app.state.db).await.unwrap();
}

async fn sessions_end_when_idle_or_old(app: TestApp) {
    let (cookie, _) = app.login(ADMIN, ADMIN_PASSWORD).await;
    // Used 11 h 59 min ago: still alive, and now marked used.
    age_session(&app, &cookie, chrono::Duration::minutes(719), chrono::Duration::hours(12)).await;
    assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    // Unused for 12 h 1 min: over.
    age_session(&app, &cookie, chrono::Duration::minutes(721), chrono::Duration::hours(13)).await;
    assert_problem(&app.get("/api/admin/me", &[("cookie", &cookie)]).await, 401, "not-logged-in");

    // Used a second ago but past its absolute expiry: over.
    let (cookie, _) = app.login(ADMIN, ADMIN_PASSWORD).await;
    let token = cookie.split_once('=').unwrap().1;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    entity::sessions::Entity::update_many()
        .col_expr(entity::sessions::Column::ExpiresAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(entity::sessions::Column::TokenHash.eq(hash))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);
}
on_both_backends!(sessions_expire_when_idle_and_at_their_absolute_age, super::sessions_end_when_idle_or_old);

async fn the_login_cookie_lasts_the_configured_lifetime(app: TestApp) {
    let raw = app
        .client
        .post(app.url("/api/admin/login"))
        .send_json(&json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .await
        .unwrap();
    let cookie = raw.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("urna_session="), "{cookie}");
    assert!(cookie.contains("Max-Age=259200"), "3 days: {cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
}
on_both_backends!(
    the_session_cookie_lives_as_long_as_the_session,
    super::the_login_cookie_lasts_the_configured_lifetime,
    |s| { s.sessions.max = chrono::Duration::days(3) }
);

async fn password(app: &TestApp, cookie: &str, csrf: &str, body: Value) -> crate::helpers::Answer {
    app.post("/api/admin/password", &body, &[("cookie", cookie), ("x-csrf-token", csrf)]).await
}

async fn changing_the_password_ends_the_other_sessions(app: TestApp) {
    let (other, _) = app.login(ADMIN, ADMIN_PASSWORD).await;
    let (cookie, csrf) = (app.admin_cookie.clone(), app.csrf.clone());
    let new = "a brand new passphrase";
    let a = password(&app, &cookie, "", json!({ "current_password": ADMIN_PASSWORD, "new_password": new })).await;
    assert_problem(&a, 403, "csrf-token-invalid");
    let a = password(&app, &cookie, &csrf, json!({ "current_password": "not it", "new_password": new })).await;
    assert_problem(&a, 403, "password-wrong");
    let a =
        password(&app, &cookie, &csrf, json!({ "current_password": ADMIN_PASSWORD, "new_password": "short" })).await;
    assert_problem(&a, 422, "password-too-short");
    assert_eq!(me(&app, &other).await, StatusCode::OK, "refused changes end nothing");

    let a = password(&app, &cookie, &csrf, json!({ "current_password": ADMIN_PASSWORD, "new_password": new })).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
    assert_eq!(me(&app, &cookie).await, StatusCode::OK, "the session that changed it goes on");
    assert_eq!(me(&app, &other).await, StatusCode::UNAUTHORIZED, "every other session ended");
    let old = app.post("/api/admin/login", &json!({ "username": ADMIN, "password": ADMIN_PASSWORD }), &[]).await;
    assert_problem(&old, 401, "login-failed");
    app.login(ADMIN, new).await;
    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"admin.password_change".to_owned()), "{actions:?}");
}
on_both_backends!(a_password_change_ends_every_other_session, super::changing_the_password_ends_the_other_sessions);

fn code(secret: &str, at: i64) -> String {
    urna::admin::totp_code_at(secret, at).unwrap()
}

async fn two_step_login(app: TestApp) {
    let setup = app.admin_post("/api/admin/totp", &json!({ "password": "wrong" })).await;
    assert_problem(&setup, 403, "password-wrong");
    let early = app.admin_post("/api/admin/totp/enable", &json!({ "code": "123456" })).await;
    assert_problem(&early, 409, "totp-not-set-up");
    let setup = app.admin_post("/api/admin/totp", &json!({ "password": ADMIN_PASSWORD })).await;
    assert_eq!(setup.status, StatusCode::OK, "{:?}", setup.body);
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    assert!(setup.body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/urna%3Aadmin?secret="));
    assert!(setup.body["qr"].as_str().unwrap().starts_with("data:image/svg+xml;base64,"));
    // Not in force until confirmed.
    let (still_plain, _) = app.login(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(me(&app, &still_plain).await, StatusCode::OK);

    let now = Utc::now().timestamp();
    let wrong = app.admin_post("/api/admin/totp/enable", &json!({ "code": code(&secret, now - 600) })).await;
    assert_problem(&wrong, 422, "totp-code-wrong");
    let on = app.admin_post("/api/admin/totp/enable", &json!({ "code": code(&secret, now) })).await;
    assert_eq!(on.status, StatusCode::NO_CONTENT, "{:?}", on.body);
    assert_eq!(app.admin_get("/api/admin/me").await.body["totp_enabled"], true);
    let again = app.admin_post("/api/admin/totp", &json!({ "password": ADMIN_PASSWORD })).await;
    assert_problem(&again, 409, "totp-already-on");

    let app = &app;
    let login = |totp: Option<String>| {
        let mut body = json!({ "username": ADMIN, "password": ADMIN_PASSWORD });
        if let Some(t) = totp {
            body["totp"] = json!(t);
        }
        async move { app.post("/api/admin/login", &body, &[]).await }
    };
    assert_problem(&login(None).await, 401, "totp-required");
    assert_problem(&login(Some(code(&secret, now - 600))).await, 401, "totp-invalid");
    // The code that turned it on is spent; the next step's is accepted once.
    assert_problem(&login(Some(code(&secret, now))).await, 401, "totp-invalid");
    let next = code(&secret, now + 30);
    let ok = login(Some(next.clone())).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["totp_enabled"], true);
    assert_problem(&login(Some(next)).await, 401, "totp-invalid");
    // A wrong password with TOTP on still fails as a password.
    let bad = app.post("/api/admin/login", &json!({ "username": ADMIN, "password": "nope" }), &[]).await;
    assert_problem(&bad, 401, "login-failed");

    let off = app.admin_post("/api/admin/totp/disable", &json!({ "password": ADMIN_PASSWORD })).await;
    assert_eq!(off.status, StatusCode::NO_CONTENT, "{:?}", off.body);
    assert_eq!(login(None).await.status, StatusCode::OK);
    let actions = audit_actions(app).await;
    for action in ["admin.totp_setup", "admin.totp_enable", "admin.totp_disable"] {
        assert!(actions.contains(&action.to_owned()), "{action} missing: {actions:?}");
    }
}
on_both_backends!(two_step_login_asks_for_a_fresh_code_once_it_is_on, super::two_step_login);

async fn an_operator_resets_a_locked_out_admin(app: TestApp) {
    let setup = app.admin_post("/api/admin/totp", &json!({ "password": ADMIN_PASSWORD })).await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let on = app.admin_post("/api/admin/totp/enable", &json!({ "code": code(&secret, Utc::now().timestamp()) })).await;
    assert_eq!(on.status, StatusCode::NO_CONTENT);
    for _ in 0..10 {
        app.post("/api/admin/login", &json!({ "username": ADMIN, "password": "guess" }), &[]).await;
    }
    let locked = app.post("/api/admin/login", &json!({ "username": ADMIN, "password": ADMIN_PASSWORD }), &[]).await;
    assert_problem(&locked, 429, "login-throttled");

    let short = urna::admin::reset_admin(&app.state.db, ADMIN, "short").await;
    assert!(short.is_err());
    let ended = urna::admin::reset_admin(&app.state.db, ADMIN, "the operator's new one").await.unwrap();
    assert_eq!(ended, 1);
    assert_eq!(me(&app, &app.admin_cookie).await, StatusCode::UNAUTHORIZED, "sessions ended");
    // The username's count is forgotten; this address's is not, so log in
    // from another one.
    let a = app
        .post(
            "/api/admin/login",
            &json!({ "username": ADMIN, "password": "the operator's new one" }),
            &[(IP_HEADER, "192.0.2.44")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["totp_enabled"], false);
    let row = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("admin.reset"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.actor, "cli");
    assert!(urna::admin::reset_admin(&app.state.db, "nobody", "long enough password").await.is_err());
}
on_both_backends!(reset_admin_restores_access, super::an_operator_resets_a_locked_out_admin, |s| {
    s.client_ip_header = Some(super::IP_HEADER.into())
});

#[actix_web::test]
async fn with_secure_cookies_the_session_cookie_is_host_prefixed_and_hsts_is_sent() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, |s| s.secure_cookies = true).await;
    let a = app.get("/api/admin/me", &[("cookie", &app.admin_cookie)]).await;
    assert_eq!(a.status, StatusCode::OK, "the __Host- cookie is the session: {:?}", a.body);
    assert!(app.admin_cookie.starts_with("__Host-urna_session="), "{}", app.admin_cookie);
    let plain = app.admin_cookie.replacen("__Host-", "", 1);
    assert_eq!(me(&app, &plain).await, StatusCode::UNAUTHORIZED, "the plain name is not read");
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.headers().get("strict-transport-security").unwrap(), "max-age=31536000");
}
