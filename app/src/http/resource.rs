//! What every route shares: the body limits, the extractors' errors as
//! problem+json, the 404 and 405 answers, and [`resource`], through which
//! every route is registered.
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use super::problem::ApiError;

/// Largest JSON body accepted anywhere: a vote is ~50 bytes, a poll with 50
/// options a few KB.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest vote body.
pub const MAX_VOTE_BYTES: usize = 2 * 1024;

/// Maps the JSON extractor's failures to problem+json with the right 4xx.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    json_problem(err).into()
}

/// The problem a JSON body's error is answered with; `web::Json` (through
/// [`json_error`]) and [`super::body::SmallJson`] both answer through it.
pub(super) fn json_problem(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. } | JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(limit)
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("send the body as Content-Type: application/json".into())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::InvalidBody(e.to_string()),
        JsonPayloadError::Deserialize(e) => ApiError::MalformedJson(e.to_string()),
        other => ApiError::UnreadableBody(other.to_string()),
    }
}

pub(super) fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadPathSegment(err.to_string()).into()
}

pub(super) fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadQuery(err.to_string()).into()
}

pub(super) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// The methods each route pattern answers, for the `Allow` header of a 405;
/// filled from the OpenAPI document when the routes are registered (a test
/// holds the document to the routes).
static ALLOWED: std::sync::OnceLock<HashMap<String, Vec<Method>>> = std::sync::OnceLock::new();

/// Records which methods each route pattern answers.
pub(super) fn set_allowed(allowed: HashMap<String, Vec<Method>>) {
    let _ = ALLOWED.set(allowed);
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.app_data::<RoutePattern>().map_or(req.path(), |r| r.0);
    let allow = ALLOWED.get().and_then(|a| a.get(path)).cloned().unwrap_or_default();
    Err(ApiError::MethodNotAllowed { method: req.method().clone(), path: req.path().to_owned(), allow })
}

/// Every path registered through [`resource`], for the test that holds the
/// OpenAPI document to the routes that really exist.
static REGISTERED: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The paths of every route registered so far.
pub fn registered_paths() -> Vec<&'static str> {
    REGISTERED.lock().map(|r| r.iter().copied().collect()).unwrap_or_default()
}

/// The pattern of the route a request reached, left in its app data by
/// [`resource`]: the metrics and the 405 read it instead of matching the
/// path against every pattern again (a regex per dynamic route).
#[derive(Clone, Copy, Debug)]
pub struct RoutePattern(pub &'static str);

/// A route's resource: other methods get a 405 problem, the request carries
/// its [`RoutePattern`], and the path is recorded for [`registered_paths`].
pub fn resource(path: &'static str) -> actix_web::Resource {
    if let Ok(mut r) = REGISTERED.lock() {
        r.insert(path);
    }
    web::resource(path).app_data(RoutePattern(path)).default_service(web::to(method_not_allowed))
}

/// A JSON body that must be an object. serde reads a struct from a JSON
/// array too (`[2]` as `{"option_id": 2}`), which no client means and the
/// OpenAPI document does not allow; handlers take `web::Json<Object<T>>`,
/// which reads `T` from a JSON object only, in the same single pass.
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Only(std::marker::PhantomData)).map(Object)
    }
}
