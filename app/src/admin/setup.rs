//! The first run: while no admin exists, `urna serve` prints a one-time
//! link (`/admin/setup?token=…`, valid for an hour) where the first admin
//! picks a name and password in the browser. The link is spent by its use,
//! and every link dies once an admin exists (`urna create-admin` included).
use actix_web::{HttpResponse, web};
use api::Me;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::auth;
use super::sessions::start_session;
use crate::db::tokens::{self, SetupError};
use crate::http::ApiError;
use crate::keys::random_token;
use crate::state::AppState;

/// How long a setup link lives.
pub const LINK_LIFETIME: Duration = Duration::hours(1);
const MAX_USERNAME_CHARS: usize = 64;

/// The path of a new setup link, when no admin exists yet; `None` once one
/// does.
pub async fn setup_link(db: &sea_orm::DatabaseConnection) -> anyhow::Result<Option<String>> {
    if tokens::any_admin(db).await? {
        return Ok(None);
    }
    let token = random_token();
    tokens::create_setup_token(db, &auth::token_hash(&token), Utc::now() + LINK_LIFETIME).await?;
    Ok(Some(format!("/admin/setup?token={token}")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    /// The `token` of the setup link.
    token: String,
    /// 1–64 characters, no control character.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    username: String,
    /// At least 12 characters.
    password: String,
}

/// `POST /api/admin/setup`: the first admin, from the setup link; logs
/// them in.
#[utoipa::path(
    post,
    path = "/api/admin/setup",
    operation_id = "setup_first_admin",
    tag = "admin",
    request_body = SetupBody,
    responses(
        (status = 201, description = "The first admin exists and is logged in: sets the session cookie, as login does", body = Me),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn setup(
    body: web::Json<crate::http::Object<SetupBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let SetupBody { token, username, password } = body.into_inner().0;
    let hash = auth::token_hash(&token);
    // Checked before the slow password hash, so a guessed link costs little.
    if !tokens::setup_token_valid(&state.db, &hash, Utc::now()).await? {
        return Err(ApiError::SetupLinkInvalid);
    }
    let username =
        crate::domain::validate_name("username", &username, MAX_USERNAME_CHARS).map_err(ApiError::InvalidBody)?;
    let username = username.as_str();
    let password_hash = auth::new_password_hash(password).await?;
    let admin = match tokens::setup_first_admin(&state.db, &hash, Utc::now(), username, &password_hash).await {
        Ok(admin) => admin,
        Err(SetupError::LinkInvalid) => return Err(ApiError::SetupLinkInvalid),
        Err(SetupError::Mutation(e)) => return Err(e.into()),
    };
    start_session(&state, admin, HttpResponse::Created()).await
}
