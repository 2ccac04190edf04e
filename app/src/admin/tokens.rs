//! Admin API tokens, for a host's own systems: named, with a role and an
//! expiry, shown once and stored as a SHA-256 hash. `Authorization: Bearer
//! <token>` works on every admin route but those that change a person's own
//! account; every request a token makes is audit-logged with its name (see
//! `auth::current_admin`).
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use api::{ApiToken, NewApiToken};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::auth::{self, AdminUser, AdminWriter};
use crate::db::tokens::{self, NewToken};
use crate::domain::Role;
use crate::http::ApiError;
use crate::keys::random_token;
use crate::state::AppState;

/// The longest a token can live.
pub const MAX_DAYS: u32 = 365;
const MAX_NAME_CHARS: usize = 64;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// What the token is for, as the audit log will name it (1–64
    /// characters, no control character).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    role: Role,
    /// 1 to 365.
    #[serde(deserialize_with = "api::whole::deserialize")]
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: u32,
}

fn shown(t: entity::api_tokens::Model) -> Result<ApiToken, ApiError> {
    Ok(ApiToken {
        role: Role::parse(&t.role).map_err(|e| anyhow::anyhow!("token {}: {e}", t.id))?,
        id: t.id,
        name: t.name,
        created_by: t.created_by,
        created_at: t.created_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
        last_used_at: t.last_used_at,
    })
}

/// `POST /api/admin/tokens`: a new token, returned this once.
#[utoipa::path(
    post,
    path = "/api/admin/tokens",
    operation_id = "create_token",
    tag = "admin",
    request_body = TokenBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "The new token, shown this once; send it as `Authorization: Bearer <token>`", body = NewApiToken),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn create(
    user: AdminWriter,
    body: web::Json<crate::http::Object<TokenBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TokenBody { name, role, expires_in_days } = body.into_inner().0;
    let name = crate::domain::validate_name("name", &name, MAX_NAME_CHARS).map_err(ApiError::InvalidBody)?;
    let name = name.as_str();
    if !(1..=MAX_DAYS).contains(&expires_in_days) {
        return Err(ApiError::InvalidBody(format!("expires_in_days must be 1-{MAX_DAYS}")));
    }
    let token = format!("{}{}", auth::API_TOKEN_PREFIX, random_token());
    let new = NewToken {
        name,
        role: role.as_str(),
        token_hash: &auth::token_hash(&token),
        expires_at: Utc::now() + Duration::days(i64::from(expires_in_days)),
    };
    let made = tokens::create_token(&state.db, new, &user.0.actor).await?;
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(NewApiToken {
        id: made.id,
        name: made.name,
        role,
        expires_at: made.expires_at,
        token,
    }))
}

/// `GET /api/admin/tokens`: every token, newest first, without the tokens
/// themselves.
#[utoipa::path(
    get,
    path = "/api/admin/tokens",
    operation_id = "list_tokens",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "Every token, newest first, revoked and expired ones included", body = Vec<ApiToken>),
        (status = 401, response = crate::http::responses::Unauthorized)
    )
)]
pub async fn list(_user: AdminUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = tokens::list_tokens(&state.db).await?.into_iter().map(shown).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(all))
}

/// `DELETE /api/admin/tokens/{id}`: revokes a token at once, on every
/// instance (each request looks its token up).
#[utoipa::path(
    delete,
    path = "/api/admin/tokens/{id}",
    operation_id = "revoke_token",
    tag = "admin",
    params(("id" = i64, Path, description = "The token's id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn revoke(
    user: AdminWriter,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !tokens::revoke_token(&state.db, *path, &user.0.actor).await? {
        return Err(ApiError::TokenNotFound(*path));
    }
    Ok(HttpResponse::NoContent().finish())
}
