//! Poll management: create, list, read, edit, delete, open, close.
use actix_web::{HttpResponse, web};
use api::AdminPoll;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::auth::{AdminUser, AdminWriter};
use crate::db::mutation::{self, MutationError};
use crate::domain::{
    self, AckMode, Dedupe, Language, NewOption, NewPoll, NewTrack, PollKind, PollPatch, PollSlug, Pow, Visibility,
    VoterIdentity,
};
use crate::http::ApiError;
use crate::read::{PollEntry, poll_view};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    /// 1-200 characters, not only spaces; unique in the poll (ignoring case).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    label: String,
    /// An http(s) URL or a path, without spaces, `"` or `<`.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r#"^(https?://|/)[^\s"<]*$"#)]
    image_url: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackBody {
    /// 1-32 of a-z, 0-9, `_` and `-` (any case); unique in the poll.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$")]
    name: String,
    dedupe: Dedupe,
    /// 1 to 1000 (default 1).
    #[serde(default = "default_weight", deserialize_with = "api::whole::deserialize")]
    #[schema(minimum = 1, maximum = 1000)]
    weight: i32,
}

fn default_weight() -> i32 {
    1
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePollBody {
    /// 1-64 of a-z, 0-9 and `-`, not starting with `-`.
    #[schema(pattern = r"^[a-z0-9][a-z0-9-]{0,63}$")]
    slug: String,
    /// 1-200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    description: String,
    #[schema(min_items = 2, max_items = 50)]
    options: Vec<OptionBody>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 2)]
    tracks: Option<Vec<TrackBody>>,
    #[serde(default)]
    opens_at: Option<DateTime<Utc>>,
    #[serde(default)]
    closes_at: Option<DateTime<Utc>>,
    #[serde(default)]
    results_visibility: Option<Visibility>,
    #[serde(default)]
    ack: Option<AckMode>,
    #[serde(default)]
    voter_identity: Option<VoterIdentity>,
    /// `"off"` (default), `"auto"` or `{"difficulty": N}`.
    #[serde(default)]
    #[schema(value_type = Option<api::PowWire>)]
    pow: Option<Pow>,
    /// Where each committed batch is POSTed, signed with a key shown once
    /// in this answer (`webhook_secret`).
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    webhook_url: Option<String>,
    /// Whether a recorded vote's answer carries a receipt (default true).
    #[serde(default)]
    receipts: Option<bool>,
    /// Sites allowed to frame this poll's pages (`https://host[:port]`, at
    /// most 20); they replace the server's `--frame-ancestors` for it.
    #[serde(default)]
    #[schema(max_items = 20)]
    embed_origins: Option<Vec<String>>,
    /// `"single"` (default), `"multiple"` or `"ranked"`.
    #[serde(default)]
    kind: Option<PollKind>,
    /// `multiple`/`ranked`: the fewest options a ballot names (default 1).
    #[serde(default, deserialize_with = "api::whole::option")]
    #[schema(minimum = 1, maximum = 50)]
    min_choices: Option<u32>,
    /// `multiple`/`ranked`: the most options a ballot names (default all).
    #[serde(default, deserialize_with = "api::whole::option")]
    #[schema(minimum = 1, maximum = 50)]
    max_choices: Option<u32>,
    /// The language of the poll's pages: `"pt-BR"` (default) or `"en"`.
    #[serde(default)]
    language: Option<Language>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPollBody {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    title: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    description: Option<String>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 50)]
    options: Option<Vec<OptionBody>>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 2)]
    tracks: Option<Vec<TrackBody>>,
    /// `null` removes the opening time.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    opens_at: Option<Option<DateTime<Utc>>>,
    /// `null` removes the closing time.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    closes_at: Option<Option<DateTime<Utc>>>,
    #[serde(default)]
    results_visibility: Option<Visibility>,
    #[serde(default)]
    ack: Option<AckMode>,
    #[serde(default)]
    voter_identity: Option<VoterIdentity>,
    /// `"off"`, `"auto"` or `{"difficulty": N}`; changes an open poll live.
    #[serde(default)]
    #[schema(value_type = Option<api::PowWire>)]
    pow: Option<Pow>,
    /// `null` stops the export. A new URL gets a new signing key.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^https?://\S*$")]
    webhook_url: Option<Option<String>>,
    /// `true`: a new signing key for the webhook, shown once in the answer.
    #[serde(default)]
    rotate_webhook_secret: bool,
    /// Receipts on or off; only before the poll opens.
    #[serde(default)]
    receipts: Option<bool>,
    /// Sites allowed to frame this poll's pages; `[]` leaves it to the
    /// server's `--frame-ancestors`.
    #[serde(default)]
    #[schema(max_items = 20)]
    embed_origins: Option<Vec<String>>,
    /// The poll's kind; only before it opens.
    #[serde(default)]
    kind: Option<PollKind>,
    /// Only before the poll opens.
    #[serde(default, deserialize_with = "api::whole::option")]
    #[schema(minimum = 1, maximum = 50)]
    min_choices: Option<u32>,
    /// Only before the poll opens.
    #[serde(default, deserialize_with = "api::whole::option")]
    #[schema(minimum = 1, maximum = 50)]
    max_choices: Option<u32>,
    /// The language of the poll's pages; changes them at once.
    #[serde(default)]
    language: Option<Language>,
}

fn options(body: Vec<OptionBody>) -> Result<Vec<NewOption>, ApiError> {
    domain::validate_options(body.into_iter().map(|o| NewOption { label: o.label, image_url: o.image_url }).collect())
        .map_err(ApiError::InvalidBody)
}

fn tracks(body: Vec<TrackBody>) -> Result<Vec<NewTrack>, ApiError> {
    domain::validate_tracks(
        body.into_iter().map(|t| NewTrack { name: t.name, dedupe: t.dedupe, weight: t.weight }).collect(),
    )
    .map_err(ApiError::InvalidBody)
}

impl TryFrom<CreatePollBody> for NewPoll {
    type Error = ApiError;

    fn try_from(b: CreatePollBody) -> Result<Self, ApiError> {
        domain::validate_schedule(b.opens_at, b.closes_at).map_err(ApiError::InvalidBody)?;
        let ballot = domain::ballot_rule(b.kind.unwrap_or_default(), b.min_choices, b.max_choices, b.options.len())
            .map_err(ApiError::InvalidBody)?;
        Ok(NewPoll {
            ballot,
            slug: PollSlug::parse(&b.slug).map_err(ApiError::InvalidBody)?,
            title: domain::validate_title(&b.title).map_err(ApiError::InvalidBody)?,
            description: domain::validate_description(&b.description).map_err(ApiError::InvalidBody)?,
            options: options(b.options)?,
            tracks: match b.tracks {
                Some(t) => tracks(t)?,
                None => domain::default_tracks(),
            },
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            results_visibility: b.results_visibility.unwrap_or(Visibility::Live),
            ack: b.ack.unwrap_or(AckMode::Durable),
            voter_identity: b.voter_identity.unwrap_or(VoterIdentity::Cookie),
            pow: b.pow.unwrap_or_default(),
            webhook_url: b
                .webhook_url
                .as_deref()
                .map(domain::validate_webhook_url)
                .transpose()
                .map_err(ApiError::InvalidBody)?,
            webhook_secret: b.webhook_url.as_ref().map(|_| crate::export::new_signing_secret()),
            receipts: b.receipts.unwrap_or(true),
            embed_origins: domain::validate_embed_origins(&b.embed_origins.unwrap_or_default())
                .map_err(ApiError::InvalidBody)?,
            language: b.language.unwrap_or_default(),
        })
    }
}

impl TryFrom<PatchPollBody> for PollPatch {
    type Error = ApiError;

    fn try_from(b: PatchPollBody) -> Result<Self, ApiError> {
        Ok(PollPatch {
            title: b.title.as_deref().map(domain::validate_title).transpose().map_err(ApiError::InvalidBody)?,
            description: b
                .description
                .as_deref()
                .map(domain::validate_description)
                .transpose()
                .map_err(ApiError::InvalidBody)?,
            options: b.options.map(options).transpose()?,
            tracks: b.tracks.map(tracks).transpose()?,
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            results_visibility: b.results_visibility,
            ack: b.ack,
            voter_identity: b.voter_identity,
            pow: b.pow,
            webhook_url: match b.webhook_url {
                Some(Some(url)) => Some(Some(domain::validate_webhook_url(&url).map_err(ApiError::InvalidBody)?)),
                Some(None) => Some(None),
                None => None,
            },
            // Decided by `update`, which knows the current webhook.
            webhook_secret: None,
            receipts: b.receipts,
            embed_origins: b
                .embed_origins
                .as_deref()
                .map(domain::validate_embed_origins)
                .transpose()
                .map_err(ApiError::InvalidBody)?,
            kind: b.kind,
            min_choices: b.min_choices,
            max_choices: b.max_choices,
            language: b.language,
        })
    }
}

impl From<MutationError> for ApiError {
    fn from(e: MutationError) -> Self {
        match e {
            MutationError::NotFound(id) => ApiError::PollIdNotFound(id),
            MutationError::SlugTaken => ApiError::SlugTaken,
            MutationError::UsernameTaken => ApiError::UsernameTaken,
            MutationError::BallotLocked => ApiError::BallotLocked,
            MutationError::ScheduleLocked => ApiError::ScheduleLocked,
            MutationError::StillOpen => ApiError::PollStillOpen,
            MutationError::CannotReopen => ApiError::CannotReopen,
            MutationError::ClosesInPast => ApiError::ClosesInPast,
            MutationError::Invalid(m) => ApiError::InvalidBody(m),
            MutationError::Db(e) => e.into(),
            MutationError::Other(e) => ApiError::Internal(e),
        }
    }
}

/// A poll with its live results, as the admin sees it.
fn admin_view(state: &AppState, entry: &PollEntry) -> AdminPoll {
    let now = Utc::now();
    let difficulty = state.pow.difficulty(entry.def.id, entry.def.pow, now);
    AdminPoll {
        poll: poll_view(&entry.def, now),
        pow_difficulty_now: difficulty,
        pow_phone_secs: difficulty.map(crate::vote::phone_secs),
        created_at: entry.def.created_at,
        updated_at: entry.def.updated_at,
        webhook_url: entry.def.webhook_url.clone(),
        webhook_secret: None,
        embed_origins: entry.def.embed_origins.clone(),
        results: entry.shared.results().snapshot.clone(),
    }
}

/// Re-reads a poll after a change and answers with its new state, and with
/// a new webhook signing key if the change made one.
async fn reloaded(
    state: &AppState,
    id: i64,
    status: actix_web::http::StatusCode,
    new_secret: Option<String>,
) -> Result<HttpResponse, ApiError> {
    state.registry.announce(id).await?;
    let view = AdminPoll { webhook_secret: new_secret, ..admin_view(state, &entry(state, id)?) };
    let mut res = HttpResponse::build(status);
    if view.webhook_secret.is_some() {
        res.insert_header(("cache-control", "no-store"));
    }
    Ok(res.json(view))
}

/// A poll by id, any status, or 404.
pub fn entry(state: &AppState, id: i64) -> Result<PollEntry, ApiError> {
    state.registry.get_by_id(id).ok_or_else(|| ApiError::PollIdNotFound(id))
}

#[utoipa::path(
    get,
    path = "/api/admin/polls",
    operation_id = "list_polls",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "Every poll with its live results", body = Vec<AdminPoll>),
        (status = 401, response = crate::http::responses::Unauthorized)
    )
)]
pub async fn list(_user: AdminUser, state: web::Data<AppState>) -> HttpResponse {
    let polls: Vec<AdminPoll> = state.registry.all().iter().map(|e| admin_view(&state, e)).collect();
    HttpResponse::Ok().json(polls)
}

#[utoipa::path(
    post,
    path = "/api/admin/polls",
    operation_id = "create_poll",
    tag = "admin",
    request_body = CreatePollBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "Created, with the ids of its options and tracks", body = AdminPoll),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 409, response = crate::http::responses::Conflict),
        (status = 413, response = crate::http::responses::PayloadTooLarge),
        (status = 415, response = crate::http::responses::UnsupportedMediaType),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn create(
    user: AdminWriter,
    body: web::Json<crate::http::Object<CreatePollBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let new = NewPoll::try_from(body.into_inner().0)?;
    let id = mutation::create_poll(&state.db, &new, &user.0.actor).await?;
    reloaded(&state, id, actix_web::http::StatusCode::CREATED, new.webhook_secret).await
}

#[utoipa::path(
    get,
    path = "/api/admin/polls/{id}",
    operation_id = "get_admin_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The poll with its live results and admin-only fields", body = AdminPoll),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get(_user: AdminUser, path: web::Path<i64>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin_view(&state, &entry(&state, *path)?)))
}

#[utoipa::path(
    patch,
    path = "/api/admin/polls/{id}",
    operation_id = "update_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    request_body = PatchPollBody,
    security(("session" = [])),
    responses(
        (status = 200, description = "Changed; options and tracks only before the poll opens", body = AdminPoll),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn update(
    user: AdminWriter,
    path: web::Path<i64>,
    body: web::Json<crate::http::Object<PatchPollBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner().0;
    let rotate = body.rotate_webhook_secret;
    let mut patch = PollPatch::try_from(body)?;
    let current = entry(&state, *path)?.def.webhook_url.clone();
    patch.webhook_secret = match &patch.webhook_url {
        Some(None) => Some(None),
        Some(Some(url)) if rotate || current.as_deref() != Some(url.as_str()) => {
            Some(Some(crate::export::new_signing_secret()))
        }
        _ if rotate && current.is_some() => Some(Some(crate::export::new_signing_secret())),
        _ if rotate => return Err(ApiError::InvalidBody("rotate_webhook_secret needs a webhook_url".into())),
        _ => None,
    };
    mutation::update_poll(&state.db, *path, &patch, &user.0.actor).await?;
    let new_secret = patch.webhook_secret.flatten();
    reloaded(&state, *path, actix_web::http::StatusCode::OK, new_secret).await
}

#[utoipa::path(
    delete,
    path = "/api/admin/polls/{id}",
    operation_id = "delete_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Deleted (never an open poll)"),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict)
    )
)]
pub async fn delete(
    user: AdminWriter,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    mutation::delete_poll(&state.db, *path, &user.0.actor).await?;
    state.registry.announce(*path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/admin/polls/{id}/open",
    operation_id = "open_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Open now", body = AdminPoll),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict)
    )
)]
pub async fn open(
    user: AdminWriter,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    mutation::open_poll(&state.db, *path, &user.0.actor).await?;
    reloaded(&state, *path, actix_web::http::StatusCode::OK, None).await
}

#[utoipa::path(
    post,
    path = "/api/admin/polls/{id}/close",
    operation_id = "close_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Closed now; later votes get 409", body = AdminPoll),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict)
    )
)]
pub async fn close(
    user: AdminWriter,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    mutation::close_poll(&state.db, *path, &user.0.actor).await?;
    reloaded(&state, *path, actix_web::http::StatusCode::OK, None).await
}

/// How far ahead a reveal is set: every presenter screen (which looks for
/// it each second) and every instance (which learns of it through the
/// fan-out, well within a second) know it before it happens.
pub const REVEAL_LEAD: chrono::Duration = chrono::Duration::seconds(3);

/// `POST /api/admin/polls/{id}/reveal`: shows a closed poll's hidden results
/// on every presenter screen at one moment ([`REVEAL_LEAD`] from now), and
/// to everyone from then on.
#[utoipa::path(
    post,
    path = "/api/admin/polls/{id}/reveal",
    operation_id = "reveal_poll",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Revealed at `revealed_at`, three seconds from now", body = AdminPoll),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict)
    )
)]
pub async fn reveal(
    user: AdminWriter,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let at = Utc::now() + REVEAL_LEAD;
    match mutation::reveal_poll(&state.db, *path, at, &user.0.actor).await? {
        Ok(()) => reloaded(&state, *path, actix_web::http::StatusCode::OK, None).await,
        Err(mutation::RevealRefused::NotClosed) => Err(ApiError::RevealNeedsClose),
        Err(mutation::RevealRefused::AlreadyRevealed) => Err(ApiError::AlreadyRevealed),
    }
}
