//! The HTTP error boundary: every failure a client can see, mapped to a status
//! and an `application/problem+json` body (RFC 9457) with a stable `code`.
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Errors a handler can return. Unexpected failures go in `Internal`: the
/// cause chain is logged, the client gets an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(&'static str, String),
    #[error("this poll is not open yet")]
    NotOpenYet { opens_at: Option<chrono::DateTime<chrono::Utc>> },
    #[error("this poll is closed")]
    PollClosed,
    #[error("you have already voted on this track")]
    AlreadyVoted,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many votes from one IP or voter; retry after this many seconds.
    #[error("too many votes from this {0}; retry in {1} s")]
    RateLimited(&'static str, u64),
    /// Overload or storage trouble: the client should retry after a pause.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Seconds a client is asked to wait after a `503`.
pub const RETRY_AFTER_SECS: u32 = 1;

/// An error as every route answers it (`application/problem+json`, RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `https://urna.dev/problems/<code>`.
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    /// Stable machine-readable code, e.g. `poll-closed`, `already-voted`, `rate-limited`.
    code: &'a str,
    detail: String,
    /// When a not-yet-open poll opens (`poll-not-open` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    opens_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ApiError {
    /// Stable machine-readable code, also the last segment of `type`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unprocessable(_) => "invalid-body",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(code, _) => code,
            ApiError::NotOpenYet { .. } => "poll-not-open",
            ApiError::PollClosed => "poll-closed",
            ApiError::AlreadyVoted => "already-voted",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::RateLimited(..) => "rate-limited",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self.status_code() {
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::UNPROCESSABLE_ENTITY => "Unprocessable request",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::PAYLOAD_TOO_LARGE => "Payload too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            _ => "Internal server error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..)
            | ApiError::NotOpenYet { .. }
            | ApiError::PollClosed
            | ApiError::AlreadyVoted => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                "an unexpected error occurred".to_owned()
            }
            other => other.to_string(),
        };
        let problem = Problem {
            kind: format!("https://urna.dev/problems/{}", self.code()),
            title: self.title(),
            status: status.as_u16(),
            code: self.code(),
            detail,
            opens_at: match self {
                ApiError::NotOpenYet { opens_at } => *opens_at,
                _ => None,
            },
        };
        let mut res = HttpResponse::build(status);
        res.content_type("application/problem+json");
        match self {
            ApiError::RateLimited(_, secs) => {
                res.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        res.json(problem)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A database that cannot be reached is a retryable condition for the
        // client, not a bug: answer 503 rather than 500.
        match e {
            sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_) => {
                metrics::counter!("urna_db_errors_total").increment(1);
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable("storage is unavailable, retry shortly".into())
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}
