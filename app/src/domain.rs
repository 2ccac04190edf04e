//! Domain types: validated values and the in-memory shape of a poll. No HTTP
//! or SQL types here; parsing from the wire and the database happens at the
//! edges with `parse`.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A poll's URL name: 1–64 of `a-z`, `0-9` and `-`, not starting with `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PollSlug(String);

impl PollSlug {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('-')
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("slug {s:?} must be 1-64 characters of a-z, 0-9 and '-', not starting with '-'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use api::{AckMode, Dedupe, Language, PollKind, PollStatus, Pow, Role, Visibility, VoterIdentity};

/// How `polls.pow_difficulty` stores a [`Pow`]: 0 off, -1 auto, N fixed.
pub fn pow_to_column(p: Pow) -> i32 {
    match p {
        Pow::Off => 0,
        Pow::Auto => -1,
        Pow::Fixed(n) => i32::try_from(n).unwrap_or(i32::MAX),
    }
}

/// The [`Pow`] stored in `polls.pow_difficulty`.
pub fn pow_from_column(v: i32) -> Pow {
    match v {
        -1 => Pow::Auto,
        n if n > 0 => Pow::Fixed(n.unsigned_abs()),
        _ => Pow::Off,
    }
}

/// One option of a poll: the same shape in memory and on the wire.
pub type OptionDef = api::PollOption;
/// One track of a poll: the same shape in memory and on the wire.
pub type TrackDef = api::Track;

/// Everything the vote path needs to know about a poll, held in memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollDef {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: PollStatus,
    pub results_visibility: Visibility,
    pub ack: AckMode,
    pub voter_identity: VoterIdentity,
    /// Whether votes need a solved proof-of-work challenge.
    #[serde(default)]
    pub pow: Pow,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change to the poll.
    pub version: i64,
    /// Where committed batches are exported, if anywhere.
    pub webhook_url: Option<String>,
    /// Whether a recorded vote's answer carries a receipt (`api::ledger`).
    #[serde(default)]
    pub receipts: bool,
    /// The sites allowed to frame this poll's pages (origins); empty: the
    /// server's `--frame-ancestors`.
    #[serde(default)]
    pub embed_origins: Vec<String>,
    /// When an admin's reveal shows the hidden results on every presenter
    /// screen, and to everyone from then on.
    #[serde(default)]
    pub revealed_at: Option<DateTime<Utc>>,
    /// What a ballot holds and how many options it names.
    #[serde(default)]
    pub ballot: BallotRule,
    /// The language of the poll's pages.
    #[serde(default)]
    pub language: Language,
    pub options: Vec<OptionDef>,
    pub tracks: Vec<TrackDef>,
}

/// A shard's count of one distinct ballot of a `multiple` or `ranked`
/// poll: `(track_id, canonical choices, votes)`.
pub type BallotTotal = (i64, Vec<i64>, i64);

/// `ballots.choices`: the canonical ballot's ids, comma-separated.
pub fn choices_column(choices: &[i64]) -> String {
    choices.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Reads `ballots.choices` back.
pub fn parse_choices(column: &str) -> Result<Vec<i64>, String> {
    column.split(',').map(|c| c.parse().map_err(|_| format!("ballot {column:?} unreadable"))).collect()
}

/// A poll's kind and how many options one ballot names (1 and 1 for
/// `single`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotRule {
    pub kind: PollKind,
    pub min: u32,
    pub max: u32,
}

impl Default for BallotRule {
    fn default() -> Self {
        Self { kind: PollKind::Single, min: 1, max: 1 }
    }
}

/// The ballot rule a poll with `options` options asks for: `single` takes
/// no limits (or 1 and 1); `multiple` and `ranked` default to 1 and every
/// option, and need `1 <= min_choices <= max_choices <= options`.
pub fn ballot_rule(kind: PollKind, min: Option<u32>, max: Option<u32>, options: usize) -> Result<BallotRule, String> {
    let n = u32::try_from(options).unwrap_or(u32::MAX);
    if kind == PollKind::Single {
        if min.unwrap_or(1) != 1 || max.unwrap_or(1) != 1 {
            return Err("a single-choice poll takes exactly one choice: leave min_choices and max_choices out".into());
        }
        return Ok(BallotRule::default());
    }
    let (min, max) = (min.unwrap_or(1), max.unwrap_or(n));
    if min < 1 || min > max || max > n {
        return Err(format!(
            "min_choices and max_choices must satisfy 1 <= min_choices ({min}) <= max_choices ({max}) <= options ({n})"
        ));
    }
    Ok(BallotRule { kind, min, max })
}

/// Whether a poll takes votes at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    NotOpenYet,
    Open,
    Closed,
}

impl PollDef {
    /// The phase at `now` from the stored status and the schedule. The same
    /// rule runs inside the batch transaction against the database's clock,
    /// which has the last word.
    pub fn phase_at(&self, now: DateTime<Utc>) -> Phase {
        phase_of(self.status, self.opens_at, self.closes_at, now)
    }

    /// The status shown to users: a scheduled poll whose time has come is
    /// open even before the scheduler has written it down.
    pub fn effective_status(&self, now: DateTime<Utc>) -> PollStatus {
        match (self.status, self.phase_at(now)) {
            (PollStatus::Draft, _) => PollStatus::Draft,
            (_, Phase::Open) => PollStatus::Open,
            (_, Phase::Closed) => PollStatus::Closed,
            (s, Phase::NotOpenYet) => s,
        }
    }

    pub fn option(&self, id: i64) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.id == id)
    }

    pub fn track_by_id(&self, id: i64) -> Option<&TrackDef> {
        self.tracks.iter().find(|t| t.id == id)
    }

    pub fn track_by_name(&self, name: &str) -> Option<&TrackDef> {
        self.tracks.iter().find(|t| t.name == name)
    }
}

/// The one rule deciding whether votes count, shared by the in-memory
/// pre-check and the commit-time check.
pub fn phase_of(
    status: PollStatus,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Phase {
    match status {
        PollStatus::Closed => Phase::Closed,
        PollStatus::Draft => Phase::NotOpenYet,
        PollStatus::Scheduled | PollStatus::Open => {
            if closes_at.is_some_and(|c| c <= now) {
                Phase::Closed
            } else if status == PollStatus::Scheduled && opens_at.is_none_or(|o| o > now) {
                Phase::NotOpenYet
            } else {
                Phase::Open
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_with_dashes() {
        assert!(PollSlug::parse("paredao-2026").is_ok());
        for bad in ["", "-x", "Paredao", "a b", "a/b", &"x".repeat(65)] {
            assert!(PollSlug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn webhook_and_image_urls_must_parse_as_web_urls() {
        assert!(validate_webhook_url("https://hooks.example/urna?x=1").is_ok());
        for bad in ["http://[", "https://", "ftp://x.example", "http://a b", "hooks.example"] {
            assert!(validate_webhook_url(bad).is_err(), "{bad:?} should be rejected");
        }
        let option = |url: &str| {
            vec![
                NewOption { label: "A".into(), image_url: Some(url.into()) },
                NewOption { label: "B".into(), image_url: None },
            ]
        };
        for good in ["https://img.example/a.png", "/static/a.png"] {
            assert!(validate_options(option(good)).is_ok(), "{good:?}");
        }
        for bad in ["http://[::1", "//evil.example/a.png", "javascript:alert(1)"] {
            assert!(validate_options(option(bad)).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_scheduled_poll_opens_and_closes_on_its_own_clock() {
        let t0 = Utc::now();
        let h = chrono::Duration::hours(1);
        let p = |now| phase_of(PollStatus::Scheduled, Some(t0), Some(t0 + h), now);
        assert_eq!(p(t0 - h), Phase::NotOpenYet);
        assert_eq!(p(t0), Phase::Open);
        assert_eq!(p(t0 + h), Phase::Closed);
        assert_eq!(phase_of(PollStatus::Open, None, None, t0), Phase::Open);
        assert_eq!(phase_of(PollStatus::Draft, None, None, t0), Phase::NotOpenYet);
    }
}

/// Limits that keep a poll sane to render and cheap to count.
pub const MAX_OPTIONS: usize = 50;
pub const MAX_TRACKS: usize = 2;
const MAX_LABEL: usize = 200;
const MAX_DESCRIPTION: usize = 4_000;

/// An option to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOption {
    pub label: String,
    pub image_url: Option<String>,
}

/// A track to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTrack {
    pub name: String,
    pub dedupe: Dedupe,
    pub weight: i32,
}

/// A validated poll to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPoll {
    pub slug: PollSlug,
    pub title: String,
    pub description: String,
    pub options: Vec<NewOption>,
    pub tracks: Vec<NewTrack>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub results_visibility: Visibility,
    pub ack: AckMode,
    pub voter_identity: VoterIdentity,
    pub pow: Pow,
    pub webhook_url: Option<String>,
    /// The new `whsec_…` signing key, when there is a webhook.
    pub webhook_secret: Option<String>,
    pub receipts: bool,
    pub embed_origins: Vec<String>,
    pub ballot: BallotRule,
    pub language: Language,
}

/// A validated partial update; `Some(None)` clears a schedule time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub options: Option<Vec<NewOption>>,
    pub tracks: Option<Vec<NewTrack>>,
    pub opens_at: Option<Option<DateTime<Utc>>>,
    pub closes_at: Option<Option<DateTime<Utc>>>,
    pub results_visibility: Option<Visibility>,
    pub ack: Option<AckMode>,
    pub voter_identity: Option<VoterIdentity>,
    pub pow: Option<Pow>,
    pub webhook_url: Option<Option<String>>,
    /// A new signing key (`Some(Some)`), or none (`Some(None)`).
    pub webhook_secret: Option<Option<String>>,
    pub receipts: Option<bool>,
    pub embed_origins: Option<Vec<String>>,
    pub language: Option<Language>,
    /// Checked against the options by `update_poll`, which knows them.
    pub kind: Option<PollKind>,
    pub min_choices: Option<u32>,
    pub max_choices: Option<u32>,
}

/// The most sites one poll may name as allowed to frame it.
pub const MAX_EMBED_ORIGINS: usize = 20;

/// Origins allowed to frame a poll: each `http(s)://host[:port]`, nothing
/// after (a path, query, user or fragment is refused, not dropped), in its
/// serialized form (`https://Example.com:443/` is `https://example.com`),
/// without repeats.
pub fn validate_embed_origins(origins: &[String]) -> Result<Vec<String>, String> {
    if origins.len() > MAX_EMBED_ORIGINS {
        return Err(format!("embed_origins: at most {MAX_EMBED_ORIGINS} origins"));
    }
    let mut out: Vec<String> = Vec::new();
    for o in origins {
        let bad = || format!("embed_origins: {o:?} is not an origin like https://www.example.com");
        let url = url::Url::parse(o.trim()).map_err(|_| bad())?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare || !url.username().is_empty() {
            return Err(bad());
        }
        let origin = url.origin().ascii_serialization();
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// A webhook must be an http(s) URL without spaces.
/// An absolute http(s) URL that parses, with a host.
fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

pub fn validate_webhook_url(url: &str) -> Result<String, String> {
    let ok = is_web_url(url) && url.len() <= 2_000 && !url.chars().any(char::is_whitespace);
    if ok { Ok(url.to_owned()) } else { Err("webhook_url must be an http(s) URL".into()) }
}

/// A name people read in lists and the audit log (an API token's, the first
/// admin's): trimmed, 1 to `max` characters, no control character. Its
/// bodies' schemas say the same with the pattern
/// `^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$`.
pub fn validate_name(what: &str, name: &str, max: usize) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > max || name.chars().any(char::is_control) {
        return Err(format!("{what} must be 1-{max} characters, none a control character"));
    }
    Ok(n.to_owned())
}

pub fn validate_title(title: &str) -> Result<String, String> {
    let t = title.trim();
    if t.is_empty() || t.chars().count() > MAX_LABEL {
        return Err(format!("title must be 1-{MAX_LABEL} characters"));
    }
    Ok(t.to_owned())
}

pub fn validate_description(d: &str) -> Result<String, String> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(format!("description must be at most {MAX_DESCRIPTION} characters"));
    }
    Ok(d.trim().to_owned())
}

pub fn validate_options(options: Vec<NewOption>) -> Result<Vec<NewOption>, String> {
    if options.len() < 2 || options.len() > MAX_OPTIONS {
        return Err(format!("a poll needs 2-{MAX_OPTIONS} options"));
    }
    let mut seen = std::collections::HashSet::new();
    options
        .into_iter()
        .map(|o| {
            let label = o.label.trim().to_owned();
            if label.is_empty() || label.chars().count() > MAX_LABEL {
                return Err(format!("option labels must be 1-{MAX_LABEL} characters"));
            }
            if !seen.insert(label.to_lowercase()) {
                return Err(format!("option {label:?} appears twice"));
            }
            if let Some(url) = &o.image_url {
                let path = url.starts_with('/') && !url.starts_with("//");
                let ok = (is_web_url(url) || path)
                    && url.len() <= 2_000
                    && !url.chars().any(|c| c.is_whitespace() || c == '"' || c == '<');
                if !ok {
                    return Err(format!("image_url of {label:?} must be an http(s) URL or a path"));
                }
            }
            Ok(NewOption { label, image_url: o.image_url })
        })
        .collect()
}

pub fn validate_tracks(tracks: Vec<NewTrack>) -> Result<Vec<NewTrack>, String> {
    if tracks.is_empty() || tracks.len() > MAX_TRACKS {
        return Err(format!("a poll has 1-{MAX_TRACKS} tracks"));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &tracks {
        let ok_name = !t.name.is_empty()
            && t.name.len() <= 32
            && t.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok_name {
            return Err(format!("track name {:?} must be 1-32 of a-z, 0-9, '_' and '-'", t.name));
        }
        if !seen.insert(t.name.clone()) {
            return Err(format!("track {:?} appears twice", t.name));
        }
        if !(1..=1000).contains(&t.weight) {
            return Err(format!("track {:?} needs a weight of 1-1000", t.name));
        }
    }
    Ok(tracks)
}

pub fn validate_schedule(opens_at: Option<DateTime<Utc>>, closes_at: Option<DateTime<Utc>>) -> Result<(), String> {
    match (opens_at, closes_at) {
        (Some(o), Some(c)) if c <= o => Err("closes_at must be after opens_at".into()),
        _ => Ok(()),
    }
}

/// The single track a poll gets when none is given: a classic unlimited vote.
pub fn default_tracks() -> Vec<NewTrack> {
    vec![NewTrack { name: "main".into(), dedupe: Dedupe::Unlimited, weight: 1 }]
}
