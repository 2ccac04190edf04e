//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations, served at `/api/openapi.json` and browsable at `/api/docs/`
//! (Swagger UI, its assets vendored from crates.io).
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::responses;

/// The document's frame; each room adds its own paths in [`document`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "urna",
        description = "Durable, exact, live voting for very large public votes. A vote is answered 200 only once committed; every error is application/problem+json with a stable `code`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&SessionCookie),
    // The error responses routes refer to (`response = …`) live here once.
    components(responses(
        responses::BadRequest,
        responses::Unauthorized,
        responses::Forbidden,
        responses::NotFound,
        responses::Conflict,
        responses::PayloadTooLarge,
        responses::UnsupportedMediaType,
        responses::Unprocessable,
        responses::TooManyRequests,
        responses::Unavailable,
        responses::NotImplemented,
    )),
    tags(
        (name = "votes", description = "The write path"),
        (name = "polls", description = "Polls as the public sees them"),
        (name = "results", description = "Live results, from memory"),
        (name = "ledger", description = "The public ledger: hash chains of committed batches, for receipts and `urna verify`"),
        (name = "admin", description = "Session cookie after login; state changes also need X-CSRF-Token"),
        (name = "operations", description = "Health and metrics"),
        (name = "pages", description = "Helpers of the web UI's pages"),
    )
)]
pub struct ApiDoc;

/// The whole document: the frame plus every room's routes.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        crate::vote::Api::openapi(),
        crate::read::Api::openapi(),
        crate::verify::Api::openapi(),
        crate::admin::Api::openapi(),
        crate::ops::Api::openapi(),
        crate::web::Api::openapi(),
    ] {
        doc.merge(part);
    }
    // Over every room's paths, so after the merge.
    for m in [&BodyRefusals as &dyn Modify, &EventStreams, &Links, &BearerToo] {
        m.modify(&mut doc);
    }
    doc
}

/// The admin session (the `urna_session` cookie set by login) and admin
/// API tokens (`Authorization: Bearer`).
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("urna_session"))));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description =
            Some("An admin API token (`urna_…`) from `POST /api/admin/tokens`; no CSRF token needed".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// Operations that act on a person's own account: a session only.
const SESSION_ONLY: &[&str] = &["logout", "change_password", "totp_setup", "totp_enable", "totp_disable"];

/// Every operation a session can use, but those of [`SESSION_ONLY`], takes
/// an API token instead.
struct BearerToo;

impl Modify for BearerToo {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                if op.operation_id.as_deref().is_some_and(|id| SESSION_ONLY.contains(&id)) {
                    continue;
                }
                let Some(security) = op.security.as_mut() else { continue };
                if security.contains(&SecurityRequirement::new("session", Vec::<String>::new())) {
                    security.push(SecurityRequirement::new("bearer", Vec::<String>::new()));
                }
            }
        }
    }
}

/// The operations of one path, whatever their method.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
}

/// Every operation that reads a body can refuse it before its handler
/// runs: unreadable (`400`), too large (`413`), not JSON (`415`). The
/// handlers list what they decide; this adds what the extractors do.
struct BodyRefusals;

impl Modify for BodyRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr};
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                if op.request_body.is_none() {
                    continue;
                }
                for (code, component) in
                    [("400", "BadRequest"), ("413", "PayloadTooLarge"), ("415", "UnsupportedMediaType")]
                {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{component}"))));
                }
            }
        }
    }
}

/// An event stream's schema describes one event (OpenAPI 3.1): `event`
/// names it and `data` holds the JSON the handler documented.
struct EventStreams;

impl Modify for EventStreams {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
        for item in openapi.paths.paths.values_mut() {
            let Some(op) = item.get.as_mut() else { continue };
            for response in op.responses.responses.values_mut() {
                let RefOr::T(response) = response else { continue };
                let Some(RefOr::T(content)) = response.content.get_mut("text/event-stream") else { continue };
                let Some(data) = content.schema.take() else { continue };
                let mut data_field = Object::with_type(Type::String);
                data_field.content_media_type = "application/json".into();
                data_field.content_schema = Some(Box::new(data));
                let event = ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("event", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["results"])))
                    .required("event")
                    .property("data", data_field)
                    .required("data")
                    .property("id", ObjectBuilder::new().schema_type(Type::String))
                    .property("retry", ObjectBuilder::new().schema_type(Type::Integer))
                    .build();
                content.schema = Some(RefOr::T(event.into()));
            }
        }
    }
}

/// Where an answer leads: a created poll's id to everything done to it, an
/// opened poll's slug to voting and reading it, a chain's shard to its
/// entries. A client (and schemathesis's stateful phase) follows these.
struct Links;

/// `(operation, status, link name, target operation, parameter, where from)`.
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("create_poll", "201", "GetPoll", "get_admin_poll", "id", "$response.body#/id"),
    ("create_poll", "201", "UpdatePoll", "update_poll", "id", "$response.body#/id"),
    ("create_poll", "201", "OpenPoll", "open_poll", "id", "$response.body#/id"),
    ("create_poll", "201", "ClosePoll", "close_poll", "id", "$response.body#/id"),
    ("create_poll", "201", "DeletePoll", "delete_poll", "id", "$response.body#/id"),
    ("close_poll", "200", "RevealPoll", "reveal_poll", "id", "$response.body#/id"),
    ("create_poll", "201", "CreateInvites", "create_invites", "id", "$response.body#/id"),
    ("create_poll", "201", "InviteStats", "invite_stats", "id", "$response.body#/id"),
    ("create_poll", "201", "ExportCsv", "export_csv", "id", "$response.body#/id"),
    ("open_poll", "200", "Vote", "cast_vote", "slug", "$response.body#/slug"),
    ("open_poll", "200", "PublicPoll", "get_poll", "slug", "$response.body#/slug"),
    ("open_poll", "200", "Results", "get_results", "slug", "$response.body#/slug"),
    ("open_poll", "200", "Challenge", "get_challenge", "slug", "$response.body#/slug"),
    ("open_poll", "200", "LedgerHeads", "get_heads", "slug", "$response.body#/slug"),
    ("open_poll", "200", "ClosePoll", "close_poll", "id", "$response.body#/id"),
    ("close_poll", "200", "LedgerHeads", "get_heads", "slug", "$response.body#/slug"),
    ("get_heads", "200", "Ledger", "get_ledger", "shard", "$response.body#/heads/0/shard"),
];

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::link::LinkBuilder;
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                let Some(id) = op.operation_id.clone() else { continue };
                for (_, status, name, target, param, from) in LINKS.iter().filter(|l| l.0 == id) {
                    let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else { continue };
                    let mut link = LinkBuilder::new().operation_id(*target).parameter(*param, *from);
                    // The ledger's slug is the one the heads came from.
                    if *target == "get_ledger" {
                        link = link.parameter("slug", "$request.path.slug");
                    }
                    response.links.insert((*name).to_owned(), RefOr::T(link.build()));
                }
            }
        }
    }
}

/// `/api/openapi.json` and the Swagger UI at `/api/docs/`.
pub fn browser() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", document())
}
