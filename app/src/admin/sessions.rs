use actix_web::{HttpRequest, HttpResponse, web};
use api::Me;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{self, AdminUser};
use crate::db::{mutation, query};
use crate::domain::Role;
use crate::http::ApiError;
use crate::keys::random_token;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// `POST /api/admin/login`.
#[utoipa::path(
    post,
    path = "/api/admin/login",
    tag = "admin",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in: sets the urna_session cookie (HttpOnly, SameSite=Strict) and returns the CSRF token", body = Me),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn login(body: web::Json<LoginBody>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let LoginBody { username, password } = body.into_inner();
    let admin = query::admin_by_username(&state.db, &username).await?;
    let stored = admin.as_ref().map(|a| a.password_hash.clone());
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = web::block(move || auth::verify_password(stored.as_deref(), &password))
        .await
        .map_err(|e| anyhow::anyhow!("password check panicked: {e}"))?;
    let admin = match admin {
        Some(a) if ok => a,
        _ => return Err(ApiError::LoginFailed),
    };
    let role = Role::parse(&admin.role).map_err(anyhow::Error::msg)?;
    let token = random_token();
    let csrf = random_token();
    let expires = Utc::now() + chrono::Duration::hours(auth::SESSION_TTL_HOURS);
    mutation::create_session(&state.db, &auth::token_hash(&token), admin.id, &csrf, expires).await?;
    mutation::append_audit(
        &state.db,
        &admin.username,
        "admin.login",
        &format!("admin:{}", admin.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(HttpResponse::Ok().cookie(auth::session_cookie(&token, state.secure_cookies)).json(Me {
        username: admin.username,
        role,
        csrf_token: csrf,
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
pub async fn logout(req: HttpRequest, user: AdminUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    auth::check_csrf(&req, &user)?;
    mutation::delete_session(&state.db, &user.token_hash).await?;
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
    HttpResponse::Ok().json(Me { username: user.username, role: user.role, csrf_token: user.csrf_token })
}
