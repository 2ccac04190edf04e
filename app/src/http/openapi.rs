//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations, served at `/api/openapi.json` and browsable at `/api/docs/`
//! (Swagger UI, its assets vendored from crates.io).
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
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
    )),
    tags(
        (name = "votes", description = "The write path"),
        (name = "polls", description = "Polls as the public sees them"),
        (name = "results", description = "Live results, from memory"),
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
        crate::admin::Api::openapi(),
        crate::ops::Api::openapi(),
        crate::web::Api::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// The admin session: the `urna_session` cookie set by login.
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("urna_session"))));
    }
}

/// `/api/openapi.json` and the Swagger UI at `/api/docs/`.
pub fn browser() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", document())
}
