use actix_web::{HttpResponse, web};
use api::AuditEntry as Entry;
use serde::Deserialize;

use super::auth::AdminUser;
use crate::db::query;
use crate::http::ApiError;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many entries, newest first (1–1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

/// `GET /api/admin/audit?limit=N`: newest first.
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    operation_id = "list_audit",
    tag = "admin",
    params(AuditQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The append-only audit log, newest first", body = Vec<Entry>),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized)
    )
)]
pub async fn list(
    _user: AdminUser,
    q: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadQuery("limit must be 1-1000".into()));
    }
    let entries: Vec<Entry> = query::audit_entries(&state.db, limit)
        .await?
        .into_iter()
        .map(|e| Entry {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}
