use actix_web::cookie::{Cookie, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};

use super::registry::PollEntry;
use crate::domain::{Dedupe, PollDef, PollStatus, VoterIdentity};
use crate::http::ApiError;
use crate::state::AppState;
use crate::vote::VOTER_COOKIE;

/// A poll as clients see it, with its status as of `now`.
pub fn poll_view(def: &PollDef, now: DateTime<Utc>) -> api::Poll {
    api::Poll {
        id: def.id,
        slug: def.slug.clone(),
        title: def.title.clone(),
        description: def.description.clone(),
        status: def.effective_status(now),
        results_visibility: def.results_visibility,
        ack: def.ack,
        voter_identity: def.voter_identity,
        pow: def.pow,
        opens_at: def.opens_at,
        closes_at: def.closes_at,
        closed_at: def.closed_at,
        receipts: def.receipts,
        revealed_at: def.revealed_at,
        kind: def.ballot.kind,
        min_choices: def.ballot.min,
        max_choices: def.ballot.max,
        language: def.language,
        options: def.options.clone(),
        tracks: def.tracks.clone(),
    }
}

/// Looks up a public poll; drafts are invisible to the public.
pub fn public_poll(state: &AppState, slug: &str) -> Result<PollEntry, ApiError> {
    state
        .registry
        .get(slug)
        .filter(|e| e.def.status != PollStatus::Draft)
        .ok_or_else(|| ApiError::PollNotFound(slug.to_owned()))
}

/// `GET /api/polls/{slug}`. Hands out the anonymous voter cookie when the
/// poll has a one-per-voter track identified by cookie.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}",
    tag = "polls",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "The poll, its options and tracks; sets the voter cookie for cookie-identified one-per-voter polls", body = api::Poll),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get_poll(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(&state, &path)?;
    let def = &entry.def;
    let mut res = HttpResponse::Ok();
    if let Some(cookie) = voter_cookie(&req, &state, def) {
        res.cookie(cookie);
    }
    Ok(res.json(poll_view(def, Utc::now())))
}

/// The anonymous voter cookie to hand out with a poll, when the poll has a
/// one-per-voter track identified by cookie and the reader has none yet.
pub fn voter_cookie(req: &HttpRequest, state: &AppState, def: &PollDef) -> Option<Cookie<'static>> {
    let wants_cookie =
        def.voter_identity == VoterIdentity::Cookie && def.tracks.iter().any(|t| t.dedupe == Dedupe::OnePerVoter);
    let has_cookie = req.cookie(VOTER_COOKIE).is_some_and(|c| state.server_key.verify_cookie(c.value()).is_some());
    (wants_cookie && !has_cookie).then(|| {
        crate::vote::site_cookie(
            VOTER_COOKIE,
            state.server_key.new_cookie(),
            state.secure_cookies,
            CookieDuration::days(365),
        )
    })
}
