use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{AckMode, Dedupe, OptionDef, PollDef, PollStatus, TrackDef, Visibility, VoterIdentity};
use crate::error::ApiError;
use crate::registry::PollEntry;
use crate::state::AppState;
use crate::voter::VOTER_COOKIE;

/// A poll as clients see it, with its status as of now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollView<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub status: PollStatus,
    pub results_visibility: Visibility,
    pub ack: AckMode,
    pub voter_identity: VoterIdentity,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub options: &'a [OptionDef],
    pub tracks: &'a [TrackDef],
}

impl<'a> PollView<'a> {
    pub fn of(def: &'a PollDef, now: DateTime<Utc>) -> Self {
        Self {
            id: def.id,
            slug: &def.slug,
            title: &def.title,
            description: &def.description,
            status: def.effective_status(now),
            results_visibility: def.results_visibility,
            ack: def.ack,
            voter_identity: def.voter_identity,
            opens_at: def.opens_at,
            closes_at: def.closes_at,
            closed_at: def.closed_at,
            options: &def.options,
            tracks: &def.tracks,
        }
    }
}

/// Looks up a public poll; drafts are invisible to the public.
pub fn public_poll(state: &AppState, slug: &str) -> Result<PollEntry, ApiError> {
    state
        .registry
        .get(slug)
        .filter(|e| e.def.status != PollStatus::Draft)
        .ok_or_else(|| ApiError::NotFound(format!("no poll named {slug:?}")))
}

/// `GET /api/polls/{slug}`. Hands out the anonymous voter cookie when the
/// poll has a one-per-voter track identified by cookie.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}",
    tag = "polls",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "The poll, its options and tracks; sets the voter cookie for cookie-identified one-per-voter polls", body = PollView),
        (status = 404, description = "unknown poll, option or track", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn get_poll(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(&state, &path)?;
    let def = &entry.def;
    let mut res = HttpResponse::Ok();
    if let Some(cookie) = voter_cookie(&req, &state, def) {
        res.cookie(cookie);
    }
    Ok(res.json(PollView::of(def, Utc::now())))
}

/// The anonymous voter cookie to hand out with a poll, when the poll has a
/// one-per-voter track identified by cookie and the reader has none yet.
pub fn voter_cookie(req: &HttpRequest, state: &AppState, def: &PollDef) -> Option<Cookie<'static>> {
    let wants_cookie = def.voter_identity == VoterIdentity::Cookie
        && def.tracks.iter().any(|t| t.dedupe == Dedupe::OnePerVoter);
    let has_cookie = req.cookie(VOTER_COOKIE).is_some_and(|c| state.server_key.verify_cookie(c.value()).is_some());
    (wants_cookie && !has_cookie).then(|| {
        Cookie::build(VOTER_COOKIE, state.server_key.new_cookie())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.secure_cookies)
            .max_age(CookieDuration::days(365))
            .finish()
    })
}
