//! The JSON shapes urna's server sends and its web UI reads, defined once:
//! the server serializes these types and the pages deserialize the same
//! ones, so a field renamed on one side fails to compile on the other.
//! Enums stay enums on both sides.
//!
//! # Layout
//! - the poll's enums ([`PollStatus`], [`Visibility`], [`AckMode`],
//!   [`Dedupe`], [`VoterIdentity`], [`Language`], [`Role`]), each with its
//!   wire spelling;
//! - public views: [`Poll`], [`Results`], [`Timeseries`], [`VoteAnswer`];
//! - admin views: [`AdminPoll`], [`Me`], [`AuditEntry`], [`Ops`];
//! - [`Problem`], every error's body.
//!
//! The feature `openapi` derives `utoipa::ToSchema` for the server's
//! OpenAPI document; the browser build leaves it out.
use std::borrow::Cow;

pub mod count;
pub mod ledger;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// From the wire spelling; the error names the accepted ones.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", stringify!($name), " {:?}; expected one of: ", $($text, " "),+),
                        other
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// A poll's lifecycle state.
    PollStatus { Draft = "draft", Scheduled = "scheduled", Open = "open", Closed = "closed" }
);
string_enum!(
    /// Who may read the results: everyone, everyone once the poll closes,
    /// a voter once they have voted here (and everyone once it closes), or
    /// admins only.
    Visibility { Live = "live", AfterClose = "after_close", AfterVote = "after_vote", AdminOnly = "admin_only" }
);
string_enum!(
    /// When a vote is answered: after COMMIT (`durable`) or when queued (`fast`).
    AckMode { Durable = "durable", Fast = "fast" }
);
string_enum!(
    /// How many votes a voter has on a track.
    Dedupe { Unlimited = "unlimited", OnePerVoter = "one_per_voter" }
);
string_enum!(
    /// Which credential identifies a voter on one-per-voter tracks: a signed
    /// token from the host's login system, a single-use invite code made by an
    /// admin, or (weaker) a signed browser cookie.
    VoterIdentity { Token = "token", Cookie = "cookie", Invite = "invite" }
);
string_enum!(
    /// What a ballot holds: one option (`single`), a set of options
    /// (`multiple`, between `min_choices` and `max_choices`), or options in
    /// order of preference (`ranked`, counted by instant runoff).
    PollKind { Single = "single", Multiple = "multiple", Ranked = "ranked" }
);

// `string_enum!` takes no attributes on variants, so no `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for PollKind {
    fn default() -> Self {
        PollKind::Single
    }
}

impl PollKind {
    /// Whether a ballot names several options (and the ledger keeps each
    /// distinct ballot's count).
    pub fn has_ballots(self) -> bool {
        self != PollKind::Single
    }
}

fn one() -> u32 {
    1
}

/// A language urna's pages speak: a poll's own (its pages' language unless
/// `?lang=` asks for the other), and the UI's. On the wire its BCP 47 tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Language {
    #[default]
    #[serde(rename = "pt-BR")]
    PtBr,
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The wire spelling (the tag of `<html lang>` too).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::PtBr => "pt-BR",
            Language::En => "en",
        }
    }

    /// From the wire spelling exactly; the error names the accepted ones.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pt-BR" => Ok(Language::PtBr),
            "en" => Ok(Language::En),
            other => Err(format!("unknown Language {other:?}; expected one of: pt-BR en")),
        }
    }

    /// The language a query string's `lang=` names, when it names one
    /// exactly: how every page (and oEmbed) reads `?lang=`.
    pub fn from_query(query: &str) -> Option<Self> {
        query.split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(|tag| Self::parse(tag).ok())
    }
}

string_enum!(
    /// An admin's role: `viewer`s read, `admin`s also change things.
    Role { Admin = "admin", Viewer = "viewer" }
);

/// Whether each vote must carry a solved proof-of-work challenge. On the
/// wire: `"off"`, `"auto"`, or `{"difficulty": N}` where N is the
/// challenge's `maxnumber` (the solver tries up to N numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PowWire", into = "PowWire")]
pub enum Pow {
    #[default]
    Off,
    /// A fixed difficulty.
    Fixed(u32),
    /// Raised with signs of abuse and lowered when they stop.
    Auto,
}

/// The smallest and largest fixed difficulty.
pub const POW_DIFFICULTY_RANGE: std::ops::RangeInclusive<u32> = 1_000..=10_000_000;

/// [`Pow`] as JSON spells it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum PowWire {
    /// `"off"` or `"auto"`.
    Mode(PowMode),
    /// A fixed `maxnumber`, 1,000 to 10,000,000.
    Fixed {
        #[serde(deserialize_with = "crate::whole::deserialize")]
        difficulty: u32,
    },
}

/// The named proof-of-work settings.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PowMode {
    Off,
    Auto,
}

impl TryFrom<PowWire> for Pow {
    type Error = String;
    fn try_from(w: PowWire) -> Result<Self, String> {
        match w {
            PowWire::Mode(PowMode::Off) => Ok(Pow::Off),
            PowWire::Mode(PowMode::Auto) => Ok(Pow::Auto),
            PowWire::Fixed { difficulty } if POW_DIFFICULTY_RANGE.contains(&difficulty) => Ok(Pow::Fixed(difficulty)),
            PowWire::Fixed { difficulty } => Err(format!(
                "pow difficulty {difficulty} is outside {}..={}",
                POW_DIFFICULTY_RANGE.start(),
                POW_DIFFICULTY_RANGE.end()
            )),
        }
    }
}

impl From<Pow> for PowWire {
    fn from(p: Pow) -> Self {
        match p {
            Pow::Off => PowWire::Mode(PowMode::Off),
            Pow::Auto => PowWire::Mode(PowMode::Auto),
            Pow::Fixed(difficulty) => PowWire::Fixed { difficulty },
        }
    }
}

/// `GET /api/polls/{slug}/challenge`: a signed, expiring proof-of-work
/// challenge in ALTCHA's SHA-256 format. Find `number` in `0..=maxnumber`
/// with `hex(SHA-256(salt + number)) == challenge`, then send
/// `{algorithm, challenge, number, salt, signature}` as base64 JSON in
/// `X-Urna-Pow`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenge {
    /// Always `SHA-256`.
    pub algorithm: String,
    pub challenge: String,
    pub maxnumber: u64,
    /// Binds the challenge to its poll and expiry: `<hex>?poll=<id>&expires=<unix>`.
    pub salt: String,
    /// `hex(HMAC-SHA-256(server key, challenge))`.
    pub signature: String,
}

/// A solved challenge, as `X-Urna-Pow` carries it (base64 of this JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PowSolution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

/// One option of a poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollOption {
    pub id: i64,
    pub label: String,
    pub image_url: Option<String>,
    pub position: i32,
}

/// One track of a poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Track {
    pub id: i64,
    pub name: String,
    pub dedupe: Dedupe,
    pub weight: i32,
    pub position: i32,
}

/// `GET /api/polls/{slug}`: a poll as the public sees it, with its status
/// as of the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Poll {
    pub id: i64,
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: PollStatus,
    pub results_visibility: Visibility,
    pub ack: AckMode,
    pub voter_identity: VoterIdentity,
    /// What a ballot holds; `single` when absent.
    #[serde(default)]
    pub kind: PollKind,
    /// The fewest options a `multiple` ballot chooses or a `ranked` ballot
    /// ranks (1 for `single`).
    #[serde(default = "one")]
    pub min_choices: u32,
    /// The most options a ballot chooses or ranks (1 for `single`).
    #[serde(default = "one")]
    pub max_choices: u32,
    /// Whether votes need a solved challenge (`GET …/challenge`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = PowWire))]
    pub pow: Pow,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Whether a recorded vote's answer carries a receipt, checkable
    /// against the public ledger (`GET …/ledger`).
    #[serde(default)]
    pub receipts: bool,
    /// For hidden results: the moment an admin's reveal shows them on every
    /// presenter screen (`/p/{slug}/present`), and to everyone from then on.
    #[serde(default)]
    pub revealed_at: Option<DateTime<Utc>>,
    /// The language of the poll's pages (`/p/{slug}…`); `?lang=` on a page
    /// asks for the other. `pt-BR` when absent.
    #[serde(default)]
    pub language: Language,
    pub options: Vec<PollOption>,
    pub tracks: Vec<Track>,
}

/// Votes for one option on one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionCount {
    pub option_id: i64,
    pub label: String,
    pub votes: i64,
    /// Share of the track's votes, 0–100, two decimals.
    pub percent: f64,
}

/// One track's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackResults {
    pub id: i64,
    pub name: String,
    pub dedupe: Dedupe,
    pub weight: i32,
    /// The sum of the options' votes: for `multiple`, every choice counts
    /// once; for `ranked`, first preferences.
    pub total: i64,
    /// Ballots cast on this track (for `single` and `ranked` the same as
    /// `total`; for `multiple`, voters rather than choices, and `percent` is
    /// the share of ballots that chose the option).
    #[serde(default)]
    pub ballots: i64,
    pub options: Vec<OptionCount>,
    /// `ranked` polls: the instant-runoff count from first preferences down
    /// to a winner (`count::instant_runoff` says the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant_runoff: Option<count::InstantRunoff>,
}

/// One option's share of the weighted result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightedOption {
    pub option_id: i64,
    pub label: String,
    /// Σ weight × track share over the tracks that have votes, 0–100.
    pub percent: f64,
}

/// `GET /api/polls/{slug}/results` and each event of its stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Results {
    pub poll: String,
    pub title: String,
    pub status: PollStatus,
    /// Commit time of the newest batch these numbers include.
    pub as_of: Option<DateTime<Utc>>,
    /// Ballots cast, summed over tracks.
    pub total_votes: i64,
    pub tracks: Vec<TrackResults>,
    pub weighted: Vec<WeightedOption>,
}

/// `GET …/timeseries`: the vote curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeseries {
    /// Width of each bucket in seconds.
    pub bucket_secs: i64,
    /// `[bucket start in unix seconds, votes committed in it]`, oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<i64>>))]
    pub points: Vec<(i64, i64)>,
}

/// How a vote was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoteStatus {
    /// `200`: committed to the database.
    Recorded,
    /// `202` (fast mode): queued, committed within one flush interval.
    Accepted,
}

/// The answer to `POST /api/polls/{slug}/votes`. Borrowed on the server
/// (it is built for every vote), owned when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoteAnswer<'a> {
    pub status: VoteStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub poll: Cow<'a, str>,
    /// The option voted for; on `multiple` and `ranked` polls the first of
    /// `choices`.
    pub option_id: i64,
    /// `multiple` and `ranked` polls: the ballot as counted (a `multiple`
    /// ballot's options in ascending id order, a ranking in its order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<i64>>,
    /// The track's name.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub track: Cow<'a, str>,
    /// For a recorded vote in a poll with receipts: the proof that it is in
    /// its batch, checkable against the public ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ledger::Receipt>,
}

/// `GET /api/admin/polls/{id}/invites`: how many codes exist and are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteStats {
    pub total: i64,
    pub used: i64,
}

/// `POST /api/admin/polls/{id}/invites`: the new codes, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvites {
    pub codes: Vec<String>,
}

/// A poll as the admin API returns it: the public view, its live results
/// and the admin-only fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminPoll {
    #[serde(flatten)]
    pub poll: Poll,
    pub webhook_url: Option<String>,
    /// The webhook's signing key (`whsec_…`, Standard Webhooks), only in
    /// the answer to the change that made it: it is never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// The sites allowed to frame this poll's pages; empty: the server's
    /// `--frame-ancestors`.
    #[serde(default)]
    pub embed_origins: Vec<String>,
    /// The difficulty this instance asks for now (`auto` moves it); `None`
    /// when the poll needs no proof of work.
    pub pow_difficulty_now: Option<u32>,
    /// The expected solving time at that difficulty on a mid-range phone.
    pub pow_phone_secs: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub results: Results,
}

/// `GET /api/admin/me`, and the answer to a login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub username: String,
    pub role: Role,
    /// Send it in `X-CSRF-Token` with every change.
    pub csrf_token: String,
    /// Whether login asks this account for a one-time code.
    #[serde(default)]
    pub totp_enabled: bool,
}

/// `POST /api/admin/totp`: a new two-step login secret, shown once. It is
/// turned on by `POST /api/admin/totp/enable` with a code it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG `data:` URL, for an `<img>`.
    pub qr: String,
}

/// An admin API token as `GET /api/admin/tokens` lists it (never the
/// token itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The admin who made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /api/admin/tokens`'s answer: the token, shown this once. Send it
/// as `Authorization: Bearer <token>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// `urna_` and 64 hex digits; only its SHA-256 is stored.
    pub token: String,
}

/// One line of `GET /api/admin/audit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// `GET /api/admin/ops`: this instance's last minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ops {
    /// Seconds of history the figures cover.
    pub window_secs: f64,
    pub requests_per_sec: f64,
    /// Share of answers that were 5xx.
    pub error_rate: f64,
    pub p99_ms: Option<f64>,
    pub votes_per_sec: f64,
    /// Votes buffered or in flight, waiting to commit.
    pub queue_depth: i64,
    pub sse_viewers: i64,
    /// `ok`, `down` or `disabled`.
    pub redis: String,
}

/// Every error's body (`application/problem+json`, RFC 9457).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `https://urna.dev/problems/<code>`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `poll-closed`, `already-voted`, `rate-limited`.
    pub code: String,
    #[serde(default)]
    pub detail: String,
    /// When a not-yet-open poll opens (`poll-not-open` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<DateTime<Utc>>,
    /// Where to fetch a proof-of-work challenge (`pow-required` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Seconds to wait, from the `Retry-After` header of a 429 or 503: a
    /// client fills it in, it is never in the body.
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem with this status and code and nothing else, for answers a
    /// client makes up itself (no network, an undecodable body).
    pub fn new(status: u16, code: &str) -> Self {
        Problem {
            kind: format!("https://urna.dev/problems/{code}"),
            title: String::new(),
            status,
            code: code.into(),
            detail: String::new(),
            opens_at: None,
            challenge: None,
            retry_after: None,
        }
    }
}

/// Whole numbers as JSON Schema counts them: `2` and `2.0` alike (and, in
/// forms, where every value is text, `"2"` and `"2.0"`). A client that writes every number
/// as a float (JavaScript's `JSON.stringify(2.0)` does not, but many
/// languages' encoders do) is not refused for it; `2.5` still is.
pub mod whole {
    use serde::de::{Deserializer, Error, Visitor};

    /// `strings`: whether text that reads as a number counts (forms).
    struct Whole {
        strings: bool,
    }

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
            // i64::MAX as f64 rounds up to 2^63, which does not fit.
            if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not a whole number in range")))
            }
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<i64, E> {
            if !self.strings {
                return Err(E::invalid_type(serde::de::Unexpected::Str(v), &self));
            }
            from_text(v).map_err(E::custom)
        }
    }

    /// A whole number written as text (a form field): `2`, ` 2 `, `2.0`;
    /// not `2.5` or a number out of range.
    pub fn from_text(v: &str) -> Result<i64, String> {
        let v = v.trim();
        match v.parse::<i64>() {
            Ok(n) => Ok(n),
            Err(_) => {
                let f = v.parse::<f64>().map_err(|_| format!("{v:?} is not a number"))?;
                Whole { strings: true }.visit_f64::<serde::de::value::Error>(f).map_err(|e| e.to_string())
            }
        }
    }

    /// `#[serde(deserialize_with = "api::whole::deserialize")]`.
    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
        let n = d.deserialize_any(Whole { strings: false })?;
        T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
    }

    /// A form field: text that reads as a whole number.
    pub fn form<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
        let n = d.deserialize_any(Whole { strings: true })?;
        T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
    }

    /// An optional JSON number (with `#[serde(default)]`): `null` is absent.
    pub fn option<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap(#[serde(deserialize_with = "deserialize")] i64);
        match <Option<Wrap> as serde::Deserialize>::deserialize(d)? {
            Some(Wrap(n)) => T::try_from(n).map(Some).map_err(|_| D::Error::custom(format!("{n} is out of range"))),
            None => Ok(None),
        }
    }

    /// An optional JSON array of whole numbers (with `#[serde(default)]`).
    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap(#[serde(deserialize_with = "deserialize")] i64);
        Ok(<Option<Vec<Wrap>> as serde::Deserialize>::deserialize(d)?.map(|v| v.into_iter().map(|w| w.0).collect()))
    }

    /// An optional form field (with `#[serde(default)]`).
    pub fn form_option<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap(#[serde(deserialize_with = "form")] i64);
        match <Option<Wrap> as serde::Deserialize>::deserialize(d)? {
            Some(Wrap(n)) => T::try_from(n).map(Some).map_err(|_| D::Error::custom(format!("{n} is out of range"))),
            None => Ok(None),
        }
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Body {
            #[serde(deserialize_with = "super::deserialize")]
            n: u32,
        }

        #[test]
        fn whole_floats_count_and_fractions_do_not() {
            let parse = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.n).map_err(|e| e.to_string());
            assert_eq!(parse(r#"{"n": 2}"#), Ok(2));
            assert_eq!(parse(r#"{"n": 2.0}"#), Ok(2));
            assert_eq!(parse(r#"{"n": 1e3}"#), Ok(1000));
            assert!(parse(r#"{"n": 2.5}"#).is_err());
            assert!(parse(r#"{"n": -1}"#).is_err(), "out of range for u32");
            assert!(parse(r#"{"n": 1e300}"#).is_err());
            assert!(parse(r#"{"n": "x"}"#).is_err());
            assert!(parse(r#"{"n": "2"}"#).is_err(), "JSON text is not a number");
            // Form text: the same rule.
            assert_eq!(super::from_text(" 2.0 "), Ok(2));
            assert!(super::from_text("2.5").is_err() && super::from_text("lots").is_err());
        }
    }
}

/// The size of a poll's embedded ballot, unless a consumer asks for less.
pub const EMBED_SIZE: (u32, u32) = (480, 520);

/// The `<iframe>` of a poll's embed page (`/p/{slug}/embed`, with `?lang=`
/// when `lang` is not the poll's own), as the admin page shows it to copy
/// and `GET /oembed` answers it. `title` is escaped for the attribute.
pub fn embed_iframe(
    origin: &str,
    slug: &str,
    lang: Option<Language>,
    title: &str,
    (width, height): (u32, u32),
) -> String {
    let title = title.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let lang = lang.map(|l| format!("?lang={}", l.as_str())).unwrap_or_default();
    format!(
        r#"<iframe src="{origin}/p/{slug}/embed{lang}" title="{title}" width="{width}" height="{height}" style="border:0;max-width:100%" loading="lazy"></iframe>"#
    )
}
