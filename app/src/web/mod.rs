//! The web UI: the `frontend` crate's Leptos pages rendered here, the
//! compiled site files under `/pkg`, and the two routes only pages use (the
//! QR code of a voting page, and the voting form that works without
//! JavaScript).
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use api::{Poll, Problem, Results};
use chrono::Utc;
use frontend::api::Backend;
use leptos::prelude::{provide_context, use_context};
use leptos_actix::{LeptosRoutes, generate_route_list};
use serde::Deserialize;

mod assets;
mod page_cache;

pub use assets::Assets;
pub use page_cache::{PageCache, serve as page_cache};

use crate::http::ApiError;
use crate::read::{poll_view, public_poll, public_visibility, voter_cookie};
use crate::state::AppState;
use crate::vote::{self, TrackRef, VoteBody};

/// What pages read while rendering on the server: the registry's memory,
/// never the database.
struct Pages {
    state: web::Data<AppState>,
}

fn problem(e: &ApiError) -> Problem {
    e.problem(e.to_string())
}

impl Backend for Pages {
    fn poll(&self, slug: &str) -> Option<Poll> {
        let entry = public_poll(&self.state, slug).ok()?;
        Some(poll_view(&entry.def, Utc::now()))
    }

    fn results(&self, slug: &str) -> Result<Results, Problem> {
        let entry = public_poll(&self.state, slug).map_err(|e| problem(&e))?;
        public_visibility(&entry.def).map_err(|e| problem(&e))?;
        Ok(entry.shared.results().snapshot.clone())
    }
}

/// The page helpers' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(qr_code, vote_form, oembed))]
pub struct Api;

/// Built once before the server starts; each worker's `App` registers it.
#[derive(Clone)]
pub struct Ui {
    frame_ancestors: Arc<str>,
    routes: Vec<leptos_actix::ActixRouteListing>,
    backend: Arc<dyn Backend>,
    state: web::Data<AppState>,
    assets: Assets,
    pages: PageCache,
}

impl Ui {
    pub fn new(site_root: &str, frame_ancestors: &str, state: web::Data<AppState>) -> anyhow::Result<Self> {
        let routes = generate_route_list(frontend::App);
        let assets = Assets::load(&std::path::Path::new(site_root).join("pkg"))?;
        Ok(Ui {
            frame_ancestors: frame_ancestors.into(),
            routes,
            backend: Arc::new(Pages { state: state.clone() }),
            state,
            assets,
            pages: PageCache::default(),
        })
    }

    /// Registers the pages, their site files and their helper routes.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(DefaultFrameAncestors(self.frame_ancestors.clone())))
            .app_data(web::Data::new(self.assets.clone()))
            .app_data(web::Data::new(self.pages.clone()))
            .service(crate::http::resource("/oembed").route(web::get().to(oembed)))
            .service(crate::http::resource("/p/{slug}/qr.svg").route(web::get().to(qr_code)))
            .service(
                crate::http::resource("/p/{slug}/vote")
                    .app_data(web::FormConfig::default().limit(crate::http::MAX_VOTE_BYTES).error_handler(form_error))
                    .route(web::post().to(vote_form)),
            )
            .service(web::resource("/pkg/{name}").route(web::get().to(assets::serve)));
        let backend = self.backend.clone();
        let names = self.assets.names.clone();
        let frame_ancestors = self.frame_ancestors.clone();
        let state = self.state.clone();
        cfg.leptos_routes_with_context(
            self.routes.clone(),
            move || {
                provide_context(backend.clone());
                allow_this_pages_scripts(&page_frame_ancestors(&state, &frame_ancestors));
            },
            move || frontend::shell(names.clone()),
        );
    }
}

/// Who may frame a poll's pages (a CSP source list): its own
/// `embed_origins`, which replace the server's `--frame-ancestors`.
fn poll_frame_ancestors(def: &crate::domain::PollDef, default: &str) -> String {
    if def.embed_origins.is_empty() { default.to_owned() } else { def.embed_origins.join(" ") }
}

/// Who may frame the page being rendered: [`poll_frame_ancestors`] for a
/// poll's pages (`/p/{slug}…`), else the server's `--frame-ancestors`.
fn page_frame_ancestors(state: &AppState, default: &str) -> String {
    let slug = use_context::<leptos_actix::Request>().and_then(|req| {
        let path = req.path().strip_prefix("/p/")?;
        Some(path.split('/').next().unwrap_or_default().to_owned())
    });
    slug.and_then(|s| state.registry.get(&s))
        .map_or_else(|| default.to_owned(), |entry| poll_frame_ancestors(&entry.def, default))
}

/// Names the nonce Leptos made for this page's inline scripts in the
/// page's Content-Security-Policy (which then replaces the default one).
fn allow_this_pages_scripts(frame_ancestors: &str) {
    let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_actix::ResponseOptions>()) else {
        return;
    };
    let policy = crate::http::content_security_policy(frame_ancestors, Some(&nonce));
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// `GET /p/{slug}/qr.svg`: the voting page's address as a QR code.
#[utoipa::path(
    get,
    path = "/p/{slug}/qr.svg",
    tag = "pages",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "The voting page's address as a QR code", body = String, content_type = "image/svg+xml"),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn qr_code(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(&state, &path)?;
    let info = req.connection_info();
    let url = format!("{}://{}/p/{}", info.scheme(), info.host(), entry.def.slug);
    let svg = crate::qr::svg(&url)?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(svg))
}

/// The server's `--frame-ancestors`, for the routes that need it.
pub struct DefaultFrameAncestors(Arc<str>);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OembedQuery {
    /// A poll's address on this server: `/p/{slug}` (or its `/live` or
    /// `/embed`).
    url: String,
    /// `json` (the default); `xml` answers 501, as oEmbed 1.0 says for a
    /// format the provider does not make.
    #[serde(default)]
    #[param(inline)]
    format: Option<OembedFormat>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 2147483647)]
    maxwidth: Option<u32>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 2147483647)]
    maxheight: Option<u32>,
}

/// The largest `maxwidth`/`maxheight` read: `i32::MAX`, as the document says.
const MAX_EMBED_SIDE: u32 = 2_147_483_647;

#[derive(Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OembedFormat {
    Json,
    Xml,
}

/// An oEmbed 1.0 answer of type `rich`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Oembed {
    version: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    provider_name: &'static str,
    provider_url: String,
    title: String,
    /// The iframe of the poll's embed page.
    html: String,
    width: u32,
    height: u32,
    cache_age: u32,
}

/// `GET /oembed?url=…&format=json`: the oEmbed `rich` answer for a poll's
/// address, so a CMS turns a pasted link into the voting widget. Only polls
/// that some site may frame (their `embed_origins`, or the server's
/// `--frame-ancestors`) are answered.
#[utoipa::path(
    get,
    path = "/oembed",
    tag = "pages",
    params(OembedQuery),
    responses(
        (status = 200, description = "oEmbed 1.0, type rich: an iframe of /p/{slug}/embed", body = Oembed),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 501, response = crate::http::responses::NotImplemented)
    )
)]
pub async fn oembed(
    req: HttpRequest,
    q: web::Query<OembedQuery>,
    state: web::Data<AppState>,
    default: web::Data<DefaultFrameAncestors>,
) -> Result<HttpResponse, ApiError> {
    // The document's range (a 32-bit signed integer, at least 1), checked
    // before anything else is answered.
    let in_range = |v: Option<u32>| v.is_none_or(|v| (1..=MAX_EMBED_SIDE).contains(&v));
    if !in_range(q.maxwidth) || !in_range(q.maxheight) {
        return Err(ApiError::BadQuery(format!("maxwidth and maxheight must be 1 to {MAX_EMBED_SIDE}")));
    }
    if q.format == Some(OembedFormat::Xml) {
        return Err(ApiError::FormatNotImplemented);
    }
    let info = req.connection_info();
    let origin = format!("{}://{}", info.scheme(), info.host());
    // The detail does not repeat the url: an answer echoing what it was sent
    // is a reflection a client may mistake for a link.
    let not_ours = || ApiError::NotEmbeddable(format!("url is not the address of a poll on {origin}"));
    let url = url::Url::parse(&q.url).map_err(|_| not_ours())?;
    if url.origin().ascii_serialization() != origin {
        return Err(not_ours());
    }
    let mut segments = url.path_segments().ok_or_else(not_ours)?.filter(|s| !s.is_empty());
    let slug = match (segments.next(), segments.next(), segments.next(), segments.next()) {
        (Some("p"), Some(slug), None | Some("live" | "embed"), None) => slug.to_owned(),
        _ => return Err(not_ours()),
    };
    let entry = public_poll(&state, &slug).map_err(|_| not_ours())?;
    if poll_frame_ancestors(&entry.def, &default.0) == "'none'" {
        return Err(ApiError::NotEmbeddable(format!(
            "poll {slug:?} lets no site frame it: add the site to its embed_origins"
        )));
    }
    let (most_wide, most_high) = api::EMBED_SIZE;
    let width = q.maxwidth.map_or(most_wide, |w| w.min(most_wide));
    let height = q.maxheight.map_or(most_high, |h| h.min(most_high));
    let title = entry.def.title.clone();
    // The language the address names (read as its page reads it), when it
    // is not the poll's own.
    let lang = url.query().and_then(api::Language::from_query).filter(|l| *l != entry.def.language);
    let html = api::embed_iframe(&origin, &slug, lang, &title, (width, height));
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(Oembed {
        version: "1.0",
        kind: "rich",
        provider_name: "urna",
        provider_url: origin.clone(),
        title,
        html,
        width,
        height,
        cache_age: 300,
    }))
}

/// A malformed voting form gets the same problem+json as a malformed vote.
fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    match err {
        E::Overflow { limit, .. } => ApiError::PayloadTooLarge(limit),
        E::ContentType => ApiError::UnsupportedMediaType("send the form as application/x-www-form-urlencoded".into()),
        E::Parse(e) => ApiError::InvalidBody(e.to_string()),
        other => ApiError::UnreadableBody(other.to_string()),
    }
    .into()
}

/// The voting page's form. Its fields are read in order, so `option_ids`
/// (checkboxes) and `ranking` (one select per place, most preferred
/// first) repeat; a field left blank is not there.
///
/// Read by [`form_vote`], field by field; the derived `Deserialize` is
/// never used, but its `deny_unknown_fields` is what gives the schema
/// `additionalProperties: false`, as the reader holds.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VoteForm {
    /// `single` polls.
    #[schema(nullable = false)]
    option_id: Option<i64>,
    /// `multiple` polls: each chosen option.
    #[schema(nullable = false)]
    option_ids: Option<Vec<i64>>,
    /// `ranked` polls: the options in order of preference.
    #[schema(nullable = false)]
    ranking: Option<Vec<i64>>,
    /// The track's id; may be left out when the poll has one track.
    #[schema(nullable = false)]
    track: Option<i64>,
}

/// The vote a form's fields cast, and its track.
fn form_vote(fields: &[(String, String)]) -> Result<(VoteBody, Option<i64>), ApiError> {
    let number = |k: &str, v: &str| api::whole::from_text(v).map_err(|e| ApiError::InvalidBody(format!("{k}: {e}")));
    let mut body = VoteBody::default();
    let mut track = None;
    for (k, v) in fields {
        let blank = v.trim().is_empty();
        match k.as_str() {
            "option_ids" | "ranking" | "option_id" | "track" if blank => {}
            "option_id" => body.option_id = Some(number(k, v)?),
            "option_ids" => body.option_ids.get_or_insert_with(Vec::new).push(number(k, v)?),
            "ranking" => body.ranking.get_or_insert_with(Vec::new).push(number(k, v)?),
            "track" => track = Some(number(k, v)?),
            other => return Err(ApiError::InvalidBody(format!("unknown field {other:?}"))),
        }
    }
    body.track = track.map(TrackRef::Id);
    Ok((body, track))
}

/// `POST /p/{slug}/vote`: the voting page's form without JavaScript. Casts
/// the vote as the API does and sends the voter back to the page, which
/// shows the outcome named in `?outcome=`, in the language `?lang=` names.
#[utoipa::path(
    post,
    path = "/p/{slug}/vote",
    tag = "pages",
    params(
        ("slug" = String, Path, description = "The poll's address"),
        ("lang" = Option<String>, Query, description = "`pt-BR` or `en`: the language of the page the voter is sent back to (another value: the poll's own)")
    ),
    request_body(content = inline(VoteForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Voted (or not): back to /p/{slug}?outcome=<recorded, accepted or an error code>"),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 413, response = crate::http::responses::PayloadTooLarge),
        (status = 415, response = crate::http::responses::UnsupportedMediaType),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn vote_form(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (mut body, track) = form_vote(&form)?;
    // The page hands out no cookie (it is the same for everyone): a first
    // vote without one gets a voter cookie now, votes with it, and takes
    // it home with the redirect.
    let fresh = public_poll(&state, &path).ok().and_then(|entry| voter_cookie(&req, &state, &entry.def));
    body.fresh_cookie = fresh.as_ref().map(|c| c.value().to_owned());
    let answer = vote::cast(&req, &path, body, &state).await;
    let outcome = vote::outcome(&answer);
    let slug: String = path.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let track = track.map(|t| format!("&track={t}")).unwrap_or_default();
    let lang = frontend::i18n::query_lang(req.query_string()).map(|l| format!("&lang={}", l.tag())).unwrap_or_default();
    let mut back = HttpResponse::SeeOther();
    // The vote's cookies (results after voting) come back with the redirect.
    for cookie in answer.iter().flat_map(|a| a.cookies()) {
        back.cookie(cookie.into_owned());
    }
    if let Some(cookie) = fresh {
        back.cookie(cookie);
    }
    Ok(back.insert_header((header::LOCATION, format!("/p/{slug}?outcome={outcome}{track}{lang}"))).finish())
}
