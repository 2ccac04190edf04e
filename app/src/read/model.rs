//! The read side: a poll's results as a snapshot, rebuilt from per-shard
//! counts whenever they change and published on a `watch` channel. Readers
//! (the results route, every SSE stream) take the latest snapshot; none of
//! them queries the database.
use std::collections::HashMap;

use api::{OptionCount, Results, TrackResults, WeightedOption};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::domain::{BallotTotal, PollDef, PollKind};

/// Counts of one shard: `(option_id, track_id) -> votes`.
pub type Counts = HashMap<(i64, i64), i64>;
/// One shard's counts of distinct ballots: `(track_id, choices) -> votes`.
pub type BallotCounts = HashMap<(i64, Vec<i64>), i64>;

/// A snapshot with its JSON rendered once, for every reader to share.
#[derive(Debug)]
pub struct Published {
    pub snapshot: Results,
    /// The snapshot as JSON: what `GET …/results` answers.
    pub json: Bytes,
    /// The same as one SSE event (`event: results`), made once and shared
    /// by every viewer's stream (a viewer costs a reference, not a copy).
    pub sse: Bytes,
    /// `json` in brotli and gzip, made by the first reader that asks.
    compressed: std::sync::OnceLock<(Option<Bytes>, Option<Bytes>)>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How often a ranked poll's runoff is recounted while its ballots change:
/// a recount walks every distinct ranking (tens of milliseconds at 100,000
/// of them), and a snapshot is made after every commit.
pub const RUNOFF_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The per-shard counts of one poll.
#[derive(Debug, Default)]
pub struct ReadModel {
    shards: HashMap<String, Counts>,
    ballots: HashMap<String, BallotCounts>,
    as_of: Option<DateTime<Utc>>,
    /// The last runoff of each ranked track, and when it was counted.
    runoff: Option<(std::time::Instant, HashMap<i64, api::count::InstantRunoff>)>,
    /// The ballots changed since that count.
    ballots_changed: bool,
}

impl ReadModel {
    /// Replaces what is known of `shard` for the given counters.
    /// Returns whether anything changed.
    pub fn set_counts(&mut self, shard: &str, totals: impl IntoIterator<Item = (i64, i64, i64)>) -> bool {
        let counts = self.shards.entry(shard.to_owned()).or_default();
        let mut changed = false;
        for (option, track, votes) in totals {
            changed |= counts.insert((option, track), votes) != Some(votes);
        }
        changed
    }

    /// Replaces what is known of `shard`'s counts of these ballots.
    /// Returns whether anything changed.
    pub fn set_ballots(&mut self, shard: &str, totals: impl IntoIterator<Item = BallotTotal>) -> bool {
        let mut totals = totals.into_iter().peekable();
        if totals.peek().is_none() {
            return false;
        }
        let counts = self.ballots.entry(shard.to_owned()).or_default();
        let mut changed = false;
        for (track, choices, votes) in totals {
            changed |= counts.insert((track, choices), votes) != Some(votes);
        }
        self.ballots_changed |= changed;
        changed
    }

    /// Whether the last snapshot showed a runoff older than the ballots.
    pub fn runoff_is_stale(&self) -> bool {
        self.ballots_changed && self.runoff.is_some()
    }

    /// Whether the last snapshot showed a runoff older than the ballots;
    /// if so, forgets it, so that the next snapshot counts afresh.
    pub fn expire_stale_runoff(&mut self) -> bool {
        let stale = self.runoff_is_stale();
        if stale {
            self.runoff = None;
        }
        stale
    }

    /// Each ranked track's runoff: counted again when the ballots changed,
    /// at most every [`RUNOFF_EVERY`] while the poll is open (and at once
    /// when it is not: a closed poll's runoff is always exact); otherwise
    /// the last count, which `expire_stale_runoff` brings up to date.
    fn runoffs(&mut self, def: &PollDef, now: DateTime<Utc>) -> HashMap<i64, api::count::InstantRunoff> {
        if def.ballot.kind != PollKind::Ranked {
            return HashMap::new();
        }
        let open = def.phase_at(now) == crate::domain::Phase::Open;
        let fresh = |at: &std::time::Instant| !self.ballots_changed || (open && at.elapsed() < RUNOFF_EVERY);
        if let Some((at, runoffs)) = &self.runoff
            && fresh(at)
        {
            return runoffs.clone();
        }
        let ids: Vec<i64> = def.options.iter().map(|o| o.id).collect();
        let runoffs: HashMap<i64, api::count::InstantRunoff> = def
            .tracks
            .iter()
            .map(|t| {
                let distinct = self.track_ballots(t.id);
                (t.id, api::count::instant_runoff(&ids, distinct.iter().map(|(c, n)| (*c, *n))))
            })
            .collect();
        self.runoff = Some((std::time::Instant::now(), runoffs.clone()));
        self.ballots_changed = false;
        runoffs
    }

    /// Folds in counts read from the database. Returns whether anything
    /// changed.
    pub fn apply(&mut self, counts: crate::db::query::PollCounts) -> bool {
        let mut changed = self.advance_as_of(counts.as_of);
        for (shard, totals) in counts.by_shard {
            changed |= self.set_counts(&shard, totals);
        }
        for (shard, totals) in counts.ballots_by_shard {
            changed |= self.set_ballots(&shard, totals);
        }
        changed
    }

    /// A track's distinct ballots summed over shards.
    fn track_ballots(&self, track_id: i64) -> HashMap<&[i64], i64> {
        let mut out: HashMap<&[i64], i64> = HashMap::new();
        for ((_, choices), votes) in self.ballots.values().flatten().filter(|((t, _), _)| *t == track_id) {
            *out.entry(choices.as_slice()).or_default() += votes;
        }
        out
    }

    /// Returns whether `as_of` moved.
    pub fn advance_as_of(&mut self, at: Option<DateTime<Utc>>) -> bool {
        let moved = at > self.as_of;
        if moved {
            self.as_of = at;
        }
        moved
    }

    pub fn total(&self, option_id: i64, track_id: i64) -> i64 {
        self.shards.values().filter_map(|c| c.get(&(option_id, track_id))).sum()
    }

    pub fn snapshot(&mut self, def: &PollDef, now: DateTime<Utc>) -> Results {
        let mut runoffs = self.runoffs(def, now);
        let tracks: Vec<TrackResults> = def
            .tracks
            .iter()
            .map(|t| {
                let votes: Vec<i64> = def.options.iter().map(|o| self.total(o.id, t.id)).collect();
                let total: i64 = votes.iter().sum();
                let kind = def.ballot.kind;
                let ballots = if kind.has_ballots() {
                    self.ballots.values().flatten().filter(|((track, _), _)| *track == t.id).map(|(_, n)| n).sum()
                } else {
                    total
                };
                // A `multiple` option's share is of the ballots that chose it.
                let base = if kind == PollKind::Multiple { ballots } else { total };
                let instant_runoff = runoffs.remove(&t.id);
                TrackResults {
                    id: t.id,
                    name: t.name.clone(),
                    dedupe: t.dedupe,
                    weight: t.weight,
                    total,
                    ballots,
                    instant_runoff,
                    options: def
                        .options
                        .iter()
                        .zip(votes)
                        .map(|(o, v)| OptionCount {
                            option_id: o.id,
                            label: o.label.clone(),
                            votes: v,
                            percent: if base > 0 { round2(v as f64 * 100.0 / base as f64) } else { 0.0 },
                        })
                        .collect(),
                }
            })
            .collect();
        let weight_sum: f64 = tracks.iter().filter(|t| t.total > 0).map(|t| f64::from(t.weight)).sum();
        let weighted = def
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let w: f64 = tracks
                    .iter()
                    .filter(|t| t.total > 0)
                    .map(|t| f64::from(t.weight) * t.options.get(i).map_or(0.0, |o| o.percent))
                    .sum();
                WeightedOption {
                    option_id: o.id,
                    label: o.label.clone(),
                    percent: if weight_sum > 0.0 { round2(w / weight_sum) } else { 0.0 },
                }
            })
            .collect();
        Results {
            poll: def.slug.clone(),
            title: def.title.clone(),
            status: def.effective_status(now),
            as_of: self.as_of,
            total_votes: tracks.iter().map(|t| t.ballots).sum(),
            tracks,
            weighted,
        }
    }
}

impl Published {
    pub fn new(snapshot: Results) -> Self {
        const HEAD: &[u8] = b"event: results\ndata: ";
        let mut sse = HEAD.to_vec();
        // Serializing plain structs of numbers and strings cannot fail.
        let _ = serde_json::to_writer(&mut sse, &snapshot);
        let end = sse.len();
        sse.extend_from_slice(b"\n\n");
        let sse = Bytes::from(sse);
        Self { snapshot, json: sse.slice(HEAD.len()..end), sse, compressed: std::sync::OnceLock::new() }
    }

    /// `json` in brotli and gzip (none when it is too small to gain),
    /// compressed once per snapshot.
    pub fn compressed_json(&self) -> (Option<&Bytes>, Option<&Bytes>) {
        let (br, gz) = self.compressed.get_or_init(|| crate::http::encoding::compressed(&self.json));
        (br.as_ref(), gz.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AckMode, Dedupe, OptionDef, PollStatus, TrackDef, Visibility, VoterIdentity};

    fn bbb() -> PollDef {
        let now = Utc::now();
        PollDef {
            id: 1,
            slug: "paredao".into(),
            title: "Paredão".into(),
            description: String::new(),
            status: PollStatus::Open,
            results_visibility: Visibility::Live,
            ack: AckMode::Durable,
            voter_identity: VoterIdentity::Token,
            pow: crate::domain::Pow::Off,
            opens_at: None,
            closes_at: None,
            closed_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
            webhook_url: None,
            receipts: false,
            embed_origins: vec![],
            revealed_at: None,
            ballot: Default::default(),
            language: Default::default(),
            options: vec![
                OptionDef { id: 10, label: "A".into(), image_url: None, position: 0 },
                OptionDef { id: 11, label: "B".into(), image_url: None, position: 1 },
            ],
            tracks: vec![
                TrackDef { id: 1, name: "unico".into(), dedupe: Dedupe::OnePerVoter, weight: 70, position: 0 },
                TrackDef { id: 2, name: "torcida".into(), dedupe: Dedupe::Unlimited, weight: 30, position: 1 },
            ],
        }
    }

    #[test]
    fn weighted_result_is_seventy_thirty_of_the_track_shares_summed_over_shards() {
        let mut m = ReadModel::default();
        // Track 1: A 60 %, B 40 %; track 2: A 10 %, B 90 %, spread over two shards.
        m.set_counts("i1", [(10, 1, 6), (11, 1, 4), (10, 2, 1)]);
        m.set_counts("i2", [(11, 2, 9)]);
        let s = m.snapshot(&bbb(), Utc::now());
        assert_eq!(s.total_votes, 20);
        assert_eq!(s.tracks[1].options[1].votes, 9);
        assert_eq!(s.weighted[0].percent, 45.0); // 0.7*60 + 0.3*10
        assert_eq!(s.weighted[1].percent, 55.0);
    }

    #[test]
    fn a_track_without_votes_does_not_drag_the_weighted_result_down() {
        let mut m = ReadModel::default();
        m.set_counts("i1", [(10, 2, 3), (11, 2, 1)]);
        let s = m.snapshot(&bbb(), Utc::now());
        assert_eq!(s.weighted[0].percent, 75.0);
        assert_eq!(s.weighted[1].percent, 25.0);
    }

    #[test]
    fn a_ranked_runoff_is_recounted_at_most_every_quarter_second_while_open_and_always_once_closed() {
        let mut def = bbb();
        def.tracks.truncate(1);
        def.ballot = crate::domain::BallotRule { kind: PollKind::Ranked, min: 1, max: 2 };
        let mut m = ReadModel::default();
        let winner = |s: &Results| s.tracks[0].instant_runoff.as_ref().and_then(|r| r.winner);
        m.set_ballots("i1", [(1, vec![10], 2), (1, vec![11], 1)]);
        assert_eq!(winner(&m.snapshot(&def, Utc::now())), Some(10));
        // New ballots within the quarter second: the counts move, the runoff waits...
        m.set_ballots("i1", [(1, vec![11], 5)]);
        let s = m.snapshot(&def, Utc::now());
        assert_eq!((s.tracks[0].ballots, winner(&s)), (7, Some(10)));
        // ...until the tick finds it stale and recounts.
        assert!(m.expire_stale_runoff());
        assert_eq!(winner(&m.snapshot(&def, Utc::now())), Some(11));
        assert!(!m.expire_stale_runoff(), "nothing changed since");
        // A closed poll is recounted at once.
        m.set_ballots("i2", [(1, vec![10], 9)]);
        def.status = PollStatus::Closed;
        assert_eq!(winner(&m.snapshot(&def, Utc::now())), Some(10));
    }

    #[test]
    fn the_published_json_and_sse_event_share_one_buffer_and_say_the_same() {
        let mut m = ReadModel::default();
        m.set_counts("i1", [(10, 1, 2)]);
        let p = Published::new(m.snapshot(&bbb(), Utc::now()));
        let back: Results = serde_json::from_slice(&p.json).unwrap();
        assert_eq!(back, p.snapshot);
        assert_eq!(p.sse, [&b"event: results\ndata: "[..], &p.json[..], b"\n\n"].concat());
        assert_eq!(p.json.as_ptr(), p.sse[21..].as_ptr(), "json is a view into the event, not a copy");
    }
}
