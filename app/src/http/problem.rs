//! The HTTP error boundary: every refusal a client can see has its own
//! variant, status and stable `code`, answered as `application/problem+json`
//! (RFC 9457). Clients branch on `code`, never on the English `detail`.
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

/// Errors a handler can return. Unexpected failures go in `Internal`: the
/// cause chain is logged, the client gets an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // 400
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The query string does not parse.
    #[error("{0}")]
    BadQuery(String),
    /// The body could not be read (truncated, wrong encoding).
    #[error("{0}")]
    UnreadableBody(String),
    #[error("Idempotency-Key must be 1 to 64 visible ASCII characters")]
    IdempotencyKeyInvalid,

    // 401
    #[error("log in at POST /api/admin/login first")]
    NotLoggedIn,
    #[error("wrong username or password")]
    LoginFailed,
    /// The password was right; the account also needs a one-time code.
    #[error("this account needs the one-time code from its authenticator app in \"totp\"")]
    TotpRequired,
    #[error("wrong or already used one-time code")]
    TotpInvalid,
    /// A one-per-voter track and no credential; says which one to send.
    #[error("{0}")]
    VoterCredentialRequired(String),
    /// A voter token was sent and is refused (malformed, forged, expired).
    #[error("{0}")]
    VoterTokenInvalid(String),
    #[error("this invite code does not exist")]
    InviteInvalid,
    /// `Authorization: Bearer` with a token that is unknown, expired or
    /// revoked (or an `Authorization` header of another scheme).
    #[error("this API token is unknown, expired or revoked; send Authorization: Bearer <token>")]
    ApiTokenInvalid,

    // 403
    #[error("missing or wrong X-CSRF-Token header")]
    CsrfTokenInvalid,
    #[error("viewers cannot change anything")]
    ReadOnlyRole,
    #[error("results are published when the poll closes")]
    ResultsHiddenUntilClose,
    #[error("results of this poll are shown to those who have voted in it")]
    ResultsHiddenUntilVote,
    #[error("results of this poll are for admins only")]
    ResultsAdminOnly,
    /// The poll asks each vote for a solved challenge; fetch one here.
    #[error("this poll needs a solved proof-of-work challenge in X-Urna-Pow: fetch one from {challenge_url}")]
    PowRequired { challenge_url: String },
    #[error("{0}")]
    PowInvalid(String),
    #[error("this proof-of-work challenge was used already; solve a new one")]
    PowReused,
    #[error("the current password is wrong")]
    PasswordWrong,
    /// A person's own account (password, two-step login, logout) is not an
    /// API token's to change.
    #[error("this route changes a person's own account: log in; an API token cannot use it")]
    SessionRequired,
    #[error("this setup link was used, has expired, or an admin exists already; use `urna create-admin`")]
    SetupLinkInvalid,

    // 404
    #[error("no poll named {0:?}")]
    PollNotFound(String),
    #[error("no poll with id {0}")]
    PollIdNotFound(i64),
    #[error("no option {0} in this poll")]
    OptionNotFound(i64),
    #[error("no track {0} in this poll")]
    TrackNotFound(String),
    #[error("no API token with id {0}, or it is revoked already")]
    TokenNotFound(i64),
    /// `GET /oembed` for a URL that is not an embeddable poll of this server.
    #[error("{0}")]
    NotEmbeddable(String),
    #[error("no such route")]
    RouteNotFound,
    /// A path segment does not parse (a poll id that is not a number).
    #[error("no such resource ({0})")]
    BadPathSegment(String),

    // 405
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: Method, path: String, allow: Vec<Method> },

    // 409
    #[error("this poll is not open yet")]
    NotOpenYet { opens_at: Option<chrono::DateTime<chrono::Utc>> },
    #[error("this poll is closed")]
    PollClosed,
    #[error("you have already voted on this track")]
    AlreadyVoted,
    #[error("a poll with this slug already exists")]
    SlugTaken,
    #[error("an admin with this username already exists")]
    UsernameTaken,
    #[error("options, tracks and receipts can only change before the poll opens")]
    BallotLocked,
    #[error("a closed poll's schedule cannot change")]
    ScheduleLocked,
    #[error("close the poll before deleting it")]
    PollStillOpen,
    #[error("a closed poll cannot be reopened")]
    CannotReopen,
    #[error("close the poll before revealing its results")]
    RevealNeedsClose,
    #[error("this poll's results were revealed already")]
    AlreadyRevealed,
    #[error("closes_at is in the past; change it before opening")]
    ClosesInPast,
    #[error("this poll takes votes without proof of work")]
    PowNotRequired,
    #[error("two-step login is on already; turn it off first to change the app")]
    TotpAlreadyOn,
    #[error("start two-step login with POST /api/admin/totp first")]
    TotpNotSetUp,

    // 413, 415, 422
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is JSON (or a form) of the wrong shape, or its fields break
    /// a rule (a poll's slug, title, options, tracks, schedule).
    #[error("{0}")]
    InvalidBody(String),
    /// A poll with several tracks and a vote that names none.
    #[error("this poll has {0} tracks; say which one in \"track\"")]
    TrackRequired(usize),
    /// A ballot in another kind's field (`option_id` to a ranked poll…).
    #[error("{}", wrong_kind(*.0))]
    WrongBallotKind(api::PollKind),
    /// A `multiple` or `ranked` ballot that breaks the poll's rules.
    #[error("{0}")]
    BadBallot(api::count::BallotFault),
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// An invite batch asks for too few or too many codes (the most for
    /// this format).
    #[error("count must be 1 to {0} for this format")]
    InviteCount(u32),
    #[error("a password needs at least {0} characters")]
    PasswordTooShort(usize),
    /// Enabling two-step login with a code that does not match.
    #[error("this code does not match the new secret; check the app's clock and try the next code")]
    TotpCodeWrong,

    // 429
    /// Too many votes from one IP or voter; retry after this many seconds.
    #[error("too many votes from this {0}; retry in {1} s")]
    RateLimited(&'static str, u64),
    /// Too many failed logins for this IP or username; seconds to wait.
    #[error("too many failed logins; retry in {0} s")]
    LoginThrottled(u64),

    // 503
    #[error("this instance is shutting down; retry")]
    Draining,
    #[error("too many votes in flight; retry shortly")]
    Overloaded,
    #[error("the vote could not be stored; it was not counted, retry")]
    VoteNotStored,
    #[error(
        "the database went away while committing this vote: it may or may not be counted; retry with the same Idempotency-Key to learn which"
    )]
    VoteOutcomeUnknown,
    #[error("storage is unavailable, retry shortly")]
    StorageUnavailable,
    #[error("too many logins are being checked at once; retry shortly")]
    LoginBusy,
    /// A page's render did not finish in time (and was abandoned).
    #[error("this page took too long to render; retry")]
    PageStalled,

    // 501
    #[error("only format=json is answered")]
    FormatNotImplemented,

    // 500
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Seconds a client is asked to wait after a `503`.
pub const RETRY_AFTER_SECS: u32 = 1;

pub use api::Problem;

/// What a ballot in the wrong field is told.
fn wrong_kind(kind: api::PollKind) -> &'static str {
    match kind {
        api::PollKind::Single => "this poll takes one choice: send option_id",
        api::PollKind::Multiple => "this poll takes several choices: send option_ids, an array of option ids",
        api::PollKind::Ranked => "this poll is ranked: send ranking, an array of option ids, most preferred first",
    }
}

impl ApiError {
    /// Stable machine-readable code, also the last segment of `type`.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MalformedJson(_) => "malformed-json",
            BadQuery(_) => "bad-query",
            UnreadableBody(_) => "bad-request",
            IdempotencyKeyInvalid => "idempotency-key-invalid",
            InviteInvalid => "invite-invalid",
            ApiTokenInvalid => "api-token-invalid",
            SessionRequired => "session-required",
            SetupLinkInvalid => "setup-link-invalid",
            TokenNotFound(_) => "token-not-found",
            PowRequired { .. } => "pow-required",
            PowInvalid(_) => "pow-invalid",
            PowReused => "pow-reused",
            IdempotencyKeyReused => "idempotency-key-reused",
            InviteCount(_) => "invite-count",
            PowNotRequired => "pow-not-required",
            NotLoggedIn => "not-logged-in",
            LoginFailed => "login-failed",
            TotpRequired => "totp-required",
            TotpInvalid => "totp-invalid",
            PasswordWrong => "password-wrong",
            TotpAlreadyOn => "totp-already-on",
            TotpNotSetUp => "totp-not-set-up",
            PasswordTooShort(_) => "password-too-short",
            TotpCodeWrong => "totp-code-wrong",
            LoginThrottled(_) => "login-throttled",
            LoginBusy => "login-busy",
            VoterCredentialRequired(_) => "voter-credential-required",
            VoterTokenInvalid(_) => "voter-token-invalid",
            CsrfTokenInvalid => "csrf-token-invalid",
            ReadOnlyRole => "read-only-role",
            ResultsHiddenUntilClose => "results-hidden-until-close",
            ResultsAdminOnly => "results-admin-only",
            ResultsHiddenUntilVote => "results-hidden-until-vote",
            PollNotFound(_) | PollIdNotFound(_) => "poll-not-found",
            OptionNotFound(_) => "option-not-found",
            TrackNotFound(_) => "track-not-found",
            RouteNotFound => "route-not-found",
            NotEmbeddable(_) => "url-not-embeddable",
            FormatNotImplemented => "format-not-implemented",
            BadPathSegment(_) => "bad-path",
            MethodNotAllowed { .. } => "method-not-allowed",
            NotOpenYet { .. } => "poll-not-open",
            PollClosed => "poll-closed",
            AlreadyVoted => "already-voted",
            SlugTaken => "slug-taken",
            UsernameTaken => "username-taken",
            BallotLocked => "ballot-locked",
            ScheduleLocked => "schedule-locked",
            PollStillOpen => "poll-still-open",
            CannotReopen => "cannot-reopen",
            RevealNeedsClose => "reveal-needs-close",
            AlreadyRevealed => "already-revealed",
            ClosesInPast => "closes-in-past",
            PayloadTooLarge(_) => "payload-too-large",
            UnsupportedMediaType(_) => "unsupported-media-type",
            InvalidBody(_) => "invalid-body",
            TrackRequired(_) => "track-required",
            WrongBallotKind(_) => "wrong-ballot-kind",
            BadBallot(api::count::BallotFault::Repeats(_)) => "repeated-choice",
            BadBallot(api::count::BallotFault::TooFew { .. }) => "too-few-choices",
            BadBallot(api::count::BallotFault::TooMany { .. }) => "too-many-choices",
            BadBallot(api::count::BallotFault::UnknownOption(_)) => "unknown-choice",
            RateLimited(..) => "rate-limited",
            Draining => "draining",
            Overloaded => "overloaded",
            VoteNotStored => "vote-not-stored",
            VoteOutcomeUnknown => "vote-outcome-unknown",
            StorageUnavailable => "storage-unavailable",
            PageStalled => "page-stalled",
            Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        self.status_code().canonical_reason().unwrap_or("Error")
    }

    /// The problem+json body, with `detail` as the client may see it.
    pub fn problem(&self, detail: String) -> Problem {
        Problem {
            kind: format!("https://urna.dev/problems/{}", self.code()),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            code: self.code().to_owned(),
            detail,
            opens_at: match self {
                ApiError::NotOpenYet { opens_at } => *opens_at,
                _ => None,
            },
            challenge: match self {
                ApiError::PowRequired { challenge_url } => Some(challenge_url.clone()),
                _ => None,
            },
            retry_after: None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        use ApiError::*;
        match self {
            MalformedJson(_) | BadQuery(_) | UnreadableBody(_) | IdempotencyKeyInvalid => StatusCode::BAD_REQUEST,
            NotLoggedIn
            | LoginFailed
            | TotpRequired
            | TotpInvalid
            | VoterCredentialRequired(_)
            | VoterTokenInvalid(_)
            | InviteInvalid
            | ApiTokenInvalid => StatusCode::UNAUTHORIZED,
            CsrfTokenInvalid
            | ReadOnlyRole
            | ResultsHiddenUntilClose
            | ResultsAdminOnly
            | ResultsHiddenUntilVote
            | PowRequired { .. }
            | PowInvalid(_)
            | PowReused
            | PasswordWrong
            | SessionRequired
            | SetupLinkInvalid => StatusCode::FORBIDDEN,
            PollNotFound(_) | PollIdNotFound(_) | OptionNotFound(_) | TrackNotFound(_) | TokenNotFound(_)
            | RouteNotFound | BadPathSegment(_) | NotEmbeddable(_) => StatusCode::NOT_FOUND,
            FormatNotImplemented => StatusCode::NOT_IMPLEMENTED,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            NotOpenYet { .. }
            | PollClosed
            | AlreadyVoted
            | SlugTaken
            | UsernameTaken
            | BallotLocked
            | ScheduleLocked
            | PollStillOpen
            | CannotReopen
            | RevealNeedsClose
            | AlreadyRevealed
            | ClosesInPast
            | PowNotRequired
            | TotpAlreadyOn
            | TotpNotSetUp => StatusCode::CONFLICT,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InvalidBody(_) | TrackRequired(_) | WrongBallotKind(_) | BadBallot(_) | IdempotencyKeyReused
            | InviteCount(_) | PasswordTooShort(_) | TotpCodeWrong => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited(..) | LoginThrottled(_) => StatusCode::TOO_MANY_REQUESTS,
            Draining | Overloaded | VoteNotStored | VoteOutcomeUnknown | StorageUnavailable | LoginBusy
            | PageStalled => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        let problem = self.problem(detail);
        let mut res = HttpResponse::build(status);
        res.content_type("application/problem+json");
        match self {
            ApiError::RateLimited(_, secs) | ApiError::LoginThrottled(secs) => {
                res.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::ApiTokenInvalid => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                res.insert_header((header::ALLOW, allow.join(", ")));
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
                ApiError::StorageUnavailable
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The OpenAPI error responses, one reusable definition per status; a
/// route lists the ones it can answer with
/// `(status = 404, response = crate::http::responses::NotFound)`.
pub mod responses {
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, RefOr, Response, ResponseBuilder};
    use utoipa::{PartialSchema, ToResponse};

    use super::Problem;

    fn problem(description: &str, header: Option<(&str, &str)>) -> RefOr<Response> {
        let content = ContentBuilder::new().schema(Some(<Problem as PartialSchema>::schema())).build();
        let mut r = ResponseBuilder::new().description(description).content("application/problem+json", content);
        if let Some((name, what)) = header {
            let h =
                HeaderBuilder::new().schema(Some(<String as PartialSchema>::schema())).description(Some(what)).build();
            r = r.header(name, h);
        }
        r.build().into()
    }

    macro_rules! response {
        ($name:ident, $description:literal $(, $header:literal => $what:literal)?) => {
            #[doc = $description]
            pub struct $name;
            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), problem($description, None $(.or(Some(($header, $what))))?))
                }
            }
        };
    }

    response!(
        BadRequest,
        "Malformed request: `malformed-json`, `bad-query`, `bad-request` or `idempotency-key-invalid`"
    );
    response!(
        Unauthorized,
        "Not authenticated: `not-logged-in`, `login-failed`, `totp-required`, `totp-invalid`, `voter-credential-required`, `voter-token-invalid`, `invite-invalid` or `api-token-invalid`"
    );
    response!(
        Forbidden,
        "Not allowed: `csrf-token-invalid`, `read-only-role`, `results-hidden-until-close`, `results-hidden-until-vote`, `results-admin-only`, `pow-required` (with `challenge`, the URL of a new challenge), `pow-invalid`, `pow-reused`, `password-wrong`, `session-required` (an API token on a route for a person's own account) or `setup-link-invalid`"
    );
    response!(
        NotFound,
        "Not found: `poll-not-found`, `option-not-found`, `track-not-found`, `token-not-found`, `url-not-embeddable`, `route-not-found` or `bad-path`"
    );
    response!(
        Conflict,
        "Conflicts with the poll's state: `poll-not-open`, `poll-closed`, `already-voted`, `slug-taken`, `username-taken`, `ballot-locked`, `schedule-locked`, `poll-still-open`, `cannot-reopen`, `reveal-needs-close`, `already-revealed`, `closes-in-past`, `pow-not-required`, `totp-already-on` or `totp-not-set-up`"
    );
    response!(NotImplemented, "`format-not-implemented`: oEmbed answers format=json only");
    response!(PayloadTooLarge, "`payload-too-large`: the body is larger than this route accepts");
    response!(UnsupportedMediaType, "`unsupported-media-type`: the body is not of the content type this route reads");
    response!(
        Unprocessable,
        "Well-formed but invalid: `invalid-body`, `track-required`, `wrong-ballot-kind`, `repeated-choice`, `too-few-choices`, `too-many-choices`, `unknown-choice`, `idempotency-key-reused`, `invite-count`, `password-too-short` or `totp-code-wrong`"
    );
    response!(TooManyRequests, "`rate-limited` or `login-throttled`", "Retry-After" => "Seconds to wait before retrying");
    response!(
        Unavailable,
        "Try again shortly: `draining`, `overloaded`, `vote-not-stored`, `vote-outcome-unknown` (retry with the same Idempotency-Key), `storage-unavailable` or `login-busy`",
        "Retry-After" => "Seconds to wait before retrying"
    );
}
