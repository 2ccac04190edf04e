use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::AdminUser;
use crate::db::query;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    limit: Option<u64>,
}

#[derive(Serialize)]
struct Entry {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    action: String,
    target: String,
    detail: serde_json::Value,
}

/// `GET /api/admin/audit?limit=N`: newest first.
pub async fn list(_user: AdminUser, q: web::Query<AuditQuery>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
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
