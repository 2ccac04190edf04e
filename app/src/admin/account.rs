//! A logged-in user's own account: a new password (which ends their other
//! sessions) and two-step login. Each needs the current password, so a
//! session left open on a shared screen cannot lock its owner out, and a
//! wrong one counts against the login throttle like a failed login.
use actix_web::{HttpRequest, HttpResponse, web};
use api::TotpSetup;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{self, Account, AccountOwner};
use super::{throttle, totp};
use crate::db::accounts::{self, TotpChange};
use crate::http::ApiError;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    /// At least 12 characters.
    new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordOnly {
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A code the authenticator app shows for the new secret.
    code: String,
}

/// The user's stored account, once their current password checks out.
async fn confirm_password(
    req: &HttpRequest,
    state: &AppState,
    user: &Account,
    password: String,
) -> Result<entity::admins::Model, ApiError> {
    let now = Utc::now();
    let keys = throttle::Keys::new(crate::http::client_ip(req, state.client_ip_header.as_ref()), &user.username);
    keys.check(&state.db, now).await?;
    let admin = accounts::admin_by_id(&state.db, user.id).await?.ok_or(ApiError::NotLoggedIn)?;
    if !auth::check_password(Some(admin.password_hash.clone()), password).await? {
        keys.fail(&state.db, now, &user.username).await?;
        return Err(ApiError::PasswordWrong);
    }
    Ok(admin)
}

/// `POST /api/admin/password`: changes the logged-in user's password and
/// ends their other sessions.
#[utoipa::path(
    post,
    path = "/api/admin/password",
    tag = "admin",
    security(("session" = [])),
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed; every other session of this user has ended"),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 429, response = crate::http::responses::TooManyRequests),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn change_password(
    req: HttpRequest,
    AccountOwner(user): AccountOwner,
    body: web::Json<crate::http::Object<PasswordBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let PasswordBody { current_password, new_password } = body.into_inner().0;
    // Before the current password's hash is checked: a short one fails fast.
    auth::check_new_password(&new_password)?;
    let admin = confirm_password(&req, &state, &user, current_password).await?;
    let hash = auth::new_password_hash(new_password).await?;
    accounts::set_password(&state.db, &admin, &hash, Some(&user.token_hash), &user.username, "admin.password_change")
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/totp`: starts two-step login with a new secret, shown
/// once; login asks for codes only after `POST /api/admin/totp/enable`.
#[utoipa::path(
    post,
    path = "/api/admin/totp",
    tag = "admin",
    security(("session" = [])),
    request_body = PasswordOnly,
    responses(
        (status = 200, description = "The new secret, its otpauth URI and QR code; not in force yet", body = TotpSetup),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 409, response = crate::http::responses::Conflict),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 429, response = crate::http::responses::TooManyRequests),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn totp_setup(
    req: HttpRequest,
    AccountOwner(user): AccountOwner,
    body: web::Json<crate::http::Object<PasswordOnly>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let admin = confirm_password(&req, &state, &user, body.into_inner().0.password).await?;
    if admin.totp_secret.is_some() {
        return Err(ApiError::TotpAlreadyOn);
    }
    let secret = totp::new_secret();
    let otpauth_uri = totp::otpauth_uri(&secret, &admin.username);
    let qr = {
        use base64::Engine;
        let svg = crate::qr::svg(&otpauth_uri)?;
        format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg))
    };
    accounts::change_totp(&state.db, &admin, TotpChange::Pending(&secret), &user.username).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(TotpSetup { secret, otpauth_uri, qr }))
}

/// `POST /api/admin/totp/enable`: turns two-step login on with a code from
/// the new secret.
#[utoipa::path(
    post,
    path = "/api/admin/totp/enable",
    tag = "admin",
    security(("session" = [])),
    request_body = CodeBody,
    responses(
        (status = 204, description = "Two-step login is on: login now asks for a code"),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 409, response = crate::http::responses::Conflict),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn totp_enable(
    AccountOwner(user): AccountOwner,
    body: web::Json<crate::http::Object<CodeBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let admin = accounts::admin_by_id(&state.db, user.id).await?.ok_or(ApiError::NotLoggedIn)?;
    if admin.totp_secret.is_some() {
        return Err(ApiError::TotpAlreadyOn);
    }
    let secret = admin.totp_pending.clone().ok_or(ApiError::TotpNotSetUp)?;
    let step = totp::matching_step(&secret, &body.0.0.code, Utc::now().timestamp()).ok_or(ApiError::TotpCodeWrong)?;
    accounts::change_totp(&state.db, &admin, TotpChange::Enable { secret: &secret, step }, &user.username).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/totp/disable`: turns two-step login off.
#[utoipa::path(
    post,
    path = "/api/admin/totp/disable",
    tag = "admin",
    security(("session" = [])),
    request_body = PasswordOnly,
    responses(
        (status = 204, description = "Two-step login is off"),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 429, response = crate::http::responses::TooManyRequests),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn totp_disable(
    req: HttpRequest,
    AccountOwner(user): AccountOwner,
    body: web::Json<crate::http::Object<PasswordOnly>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let admin = confirm_password(&req, &state, &user, body.into_inner().0.password).await?;
    accounts::change_totp(&state.db, &admin, TotpChange::Disable, &user.username).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `urna reset-admin NAME`: a new password, two-step login off, every
/// session ended and the username's failed logins forgotten; returns how
/// many sessions ended.
pub async fn reset_admin(db: &sea_orm::DatabaseConnection, username: &str, password: &str) -> anyhow::Result<u64> {
    auth::check_new_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin =
        accounts::admin_by_username(db, username).await?.ok_or_else(|| anyhow::anyhow!("no admin {username:?}"))?;
    let hash = auth::hash_password(password)?;
    Ok(accounts::reset_admin(db, &admin, &hash, &throttle::username_key(username)).await?)
}
