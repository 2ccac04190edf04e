use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::auth::{self, AdminUser, Role};
use crate::db::{mutation, query};
use crate::error::ApiError;
use crate::state::AppState;
use crate::voter::random_token;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me<'a> {
    username: &'a str,
    role: Role,
    /// Send this back in `X-CSRF-Token` on every state-changing request.
    csrf_token: &'a str,
}

/// `POST /api/admin/login`.
#[utoipa::path(
    post,
    path = "/api/admin/login",
    tag = "admin",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in: sets the urna_session cookie (HttpOnly, SameSite=Strict) and returns the CSRF token", body = Me),
        (status = 400, description = "malformed request", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::error::Problem, content_type = "application/problem+json")
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
        _ => return Err(ApiError::Unauthorized("wrong username or password".into())),
    };
    let role = Role::parse(&admin.role).ok_or_else(|| anyhow::anyhow!("unknown role {:?}", admin.role))?;
    let token = random_token();
    let csrf = random_token();
    let expires = Utc::now() + chrono::Duration::hours(auth::SESSION_TTL_HOURS);
    mutation::create_session(&state.db, &auth::token_hash(&token), admin.id, &csrf, expires).await?;
    mutation::append_audit(&state.db, &admin.username, "admin.login", &format!("admin:{}", admin.id), serde_json::json!({})).await?;
    Ok(HttpResponse::Ok()
        .cookie(auth::session_cookie(&token, state.secure_cookies))
        .json(Me { username: &admin.username, role, csrf_token: &csrf }))
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
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden: hidden results, missing CSRF token, or a viewer changing things", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn logout(req: HttpRequest, user: AdminUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    auth::check_csrf(&req, &user)?;
    mutation::delete_session(&state.db, &user.token_hash).await?;
    mutation::append_audit(&state.db, &user.username, "admin.logout", &format!("admin:{}", user.id), serde_json::json!({})).await?;
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
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn me(user: AdminUser) -> HttpResponse {
    HttpResponse::Ok().json(Me { username: &user.username, role: user.role, csrf_token: &user.csrf_token })
}
