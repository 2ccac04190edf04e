use actix_web::{HttpRequest, HttpResponse, web};
use api::Me;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{self, AccountOwner, AdminUser, Via};
use super::throttle;
use super::totp;
use crate::db::{accounts, mutation};
use crate::domain::Role;
use crate::http::ApiError;
use crate::keys::random_token;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
    /// The current one-time code, for an account with two-step login.
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /api/admin/login`.
#[utoipa::path(
    post,
    path = "/api/admin/login",
    tag = "admin",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in: sets the session cookie (`urna_session`, or `__Host-urna_session` with Secure cookies; HttpOnly, SameSite=Strict) and returns the CSRF token", body = Me),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 429, response = crate::http::responses::TooManyRequests),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn login(
    req: HttpRequest,
    body: web::Json<crate::http::Object<LoginBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { username, password, totp: code } = body.into_inner().0;
    let now = Utc::now();
    let keys = throttle::Keys::new(crate::http::client_ip(&req, state.client_ip_header.as_ref()), &username);
    keys.check(&state.db, now).await?;
    let admin = accounts::admin_by_username(&state.db, &username).await?;
    let ok = auth::check_password(admin.as_ref().map(|a| a.password_hash.clone()), password).await?;
    let admin = match admin {
        Some(a) if ok => a,
        _ => {
            keys.fail(&state.db, now, &username).await?;
            return Err(ApiError::LoginFailed);
        }
    };
    if let Some(secret) = &admin.totp_secret {
        // No code yet is not a failure: the page asks for one next.
        let code = code.ok_or(ApiError::TotpRequired)?;
        let step = totp::matching_step(secret, &code, now.timestamp());
        let fresh = match step {
            Some(step) => accounts::spend_totp_step(&state.db, admin.id, step).await?,
            None => false,
        };
        if !fresh {
            keys.fail(&state.db, now, &username).await?;
            return Err(ApiError::TotpInvalid);
        }
    }
    keys.clear(&state.db).await?;
    start_session(&state, admin, HttpResponse::Ok()).await
}

/// A new session for `admin`: its audit row, the cookie and `Me` in an
/// answer of `status`.
pub async fn start_session(
    state: &AppState,
    admin: entity::admins::Model,
    mut status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let role = Role::parse(&admin.role).map_err(anyhow::Error::msg)?;
    let token = random_token();
    let csrf = random_token();
    let max = state.sessions.max;
    accounts::create_session(&state.db, &auth::token_hash(&token), admin.id, &csrf, now, now + max).await?;
    mutation::append_audit(
        &state.db,
        &admin.username,
        "admin.login",
        &format!("admin:{}", admin.id),
        serde_json::json!({ "totp": admin.totp_secret.is_some() }),
    )
    .await?;
    Ok(status.cookie(auth::session_cookie(&token, state.secure_cookies, max)).json(Me {
        username: admin.username,
        role,
        csrf_token: csrf,
        totp_enabled: admin.totp_secret.is_some(),
    }))
}

/// `POST /api/admin/logout`: ends the session. CSRF-checked so a foreign
/// page cannot log an admin out either.
#[utoipa::path(
    post,
    path = "/api/admin/logout",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 204, description = "Logged out; the session cookie is cleared"),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden)
    )
)]
pub async fn logout(AccountOwner(user): AccountOwner, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    accounts::delete_session(&state.db, &user.token_hash).await?;
    mutation::append_audit(
        &state.db,
        &user.username,
        "admin.logout",
        &format!("admin:{}", user.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(HttpResponse::NoContent().cookie(auth::cleared_session_cookie(state.secure_cookies)).finish())
}

/// `GET /api/admin/me`: who is logged in, and the CSRF token to use.
#[utoipa::path(
    get,
    path = "/api/admin/me",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "Who is logged in, and the CSRF token to send", body = Me),
        (status = 401, response = crate::http::responses::Unauthorized)
    )
)]
pub async fn me(user: AdminUser) -> HttpResponse {
    HttpResponse::Ok().json(match user.via {
        Via::Session(account) => Me {
            username: account.username,
            role: account.role,
            csrf_token: account.csrf_token,
            totp_enabled: account.totp_enabled,
        },
        // A token needs no CSRF token and has no account of its own.
        Via::Token(_) => Me { username: user.actor, role: user.role, csrf_token: String::new(), totp_enabled: false },
    })
}
