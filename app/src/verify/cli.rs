//! `urna verify --url URL --poll SLUG [--receipt FILE]...`: checks a poll's
//! count from the outside, through the public API only.
//!
//! It walks every shard's chain from its first entry, checks that each
//! entry follows the one before (`seq` one more, `prev_hash` the entry
//! before's `entry_hash`) and, where deltas are shown, recomputes its
//! `entry_hash`; sums the deltas and compares them with the results API
//! (equal once the poll is closed; while it is open, results read first
//! may only trail the ledger read after them); and checks each receipt's
//! audit path against its entry's root. The first thing that does not hold
//! is the error it exits with.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use api::ledger::{self as chain, BallotDelta, Delta, Hash, LedgerEntry, LedgerHeads, LedgerPage, Receipt};
use api::{Poll, PollKind, PollStatus, Results};

use crate::settings::{VerifyArgs, WebhookSettings};

/// What a verification found, for its closing summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub shards: usize,
    pub entries: u64,
    /// Votes counted in the ledger (when deltas are shown).
    pub votes: Option<i64>,
    pub receipts: usize,
    /// How the totals compared with the results API.
    pub totals: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} chain(s), {} entries: every link and hash holds", self.shards, self.entries)?;
        if let Some(v) = self.votes {
            write!(f, "; {v} votes")?;
        }
        write!(f, "; totals: {}; {} receipt(s) in the ledger", self.totals, self.receipts)
    }
}

struct Api {
    client: awc::Client,
    base: String,
    poll: String,
}

/// Largest answer read (a page of 1,000 entries is about 400 KB).
const MAX_BODY: usize = 16 * 1024 * 1024;

impl Api {
    /// GETs a path; `Ok(None)` for a 403 (results hidden).
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<Option<T>> {
        let url = format!("{}{path}", self.base);
        let mut res = self.client.get(&url).send().await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
        if res.status() == awc::http::StatusCode::FORBIDDEN {
            return Ok(None);
        }
        ensure!(res.status().is_success(), "GET {url}: {}", res.status());
        let body = res.body().limit(MAX_BODY).await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
        serde_json::from_slice(&body).with_context(|| format!("GET {url}: unexpected answer")).map(Some)
    }

    async fn must<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.get(path).await?.with_context(|| format!("GET {path}: forbidden"))
    }

    /// Every entry of one shard's chain, oldest first.
    async fn chain(&self, shard: &str) -> anyhow::Result<Vec<LedgerEntry>> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let path =
                format!("/api/polls/{}/ledger?shard={}&after={after}&limit=1000", self.poll, percent_encode(shard));
            let page: LedgerPage = self.must(&path).await?;
            all.extend(page.entries);
            match page.next_after {
                Some(next) if next > after => after = next,
                _ => return Ok(all),
            }
        }
    }
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn hash(field: &str, hex: &str, at: &str) -> anyhow::Result<Hash> {
    chain::from_hex::<32>(hex).with_context(|| format!("{at}: {field} is not 32 bytes of hex"))
}

/// Checks one chain, oldest entry first.
fn check_chain(entries: &[LedgerEntry], shard: &str, receipts: bool, kind: PollKind) -> anyhow::Result<()> {
    let empty = chain::empty_root();
    let mut prev: Hash = chain::GENESIS;
    for (n, e) in entries.iter().enumerate() {
        let at = format!("entry shard={shard} seq={}", e.seq);
        ensure!(e.shard == shard, "{at}: listed under shard {:?}", e.shard);
        ensure!(e.seq == n as i64 + 1, "{at}: expected seq {} (a chain counts up from 1 without gaps)", n + 1);
        ensure!(
            hash("prev_hash", &e.prev_hash, &at)? == prev,
            "{at}: prev_hash is not the entry_hash of the entry before"
        );
        let root = hash("root", &e.root, &at)?;
        let entry_hash = hash("entry_hash", &e.entry_hash, &at)?;
        if e.size == 0 {
            ensure!(root == empty, "{at}: no leaves, yet its root is not the empty tree's");
        }
        if let Some(deltas) = &e.deltas {
            ensure!(
                deltas
                    .iter()
                    .zip(deltas.iter().skip(1))
                    .all(|(a, b)| (a.option_id, a.track_id) < (b.option_id, b.track_id)),
                "{at}: deltas are not sorted by option, then track"
            );
            ensure!(deltas.iter().all(|d| d.delta > 0), "{at}: a delta is not positive");
            let ballots = match (kind.has_ballots(), &e.ballots) {
                (true, Some(b)) => Some(check_ballots(b, deltas, kind, &at)?),
                (true, None) => bail!("{at}: a {} poll's entry shows deltas without its ballots", kind.as_str()),
                (false, Some(_)) => bail!("{at}: a single-choice poll's entry lists ballots"),
                (false, None) => None,
            };
            ensure!(
                chain::entry_hash(&prev, e.seq, &root, deltas, ballots) == entry_hash,
                "{at}: entry_hash does not match SHA-256(prev_hash || seq || root || deltas)"
            );
            let counted: i64 = match ballots {
                Some(b) => b.iter().map(|b| b.delta).sum(),
                None => deltas.iter().map(|d| d.delta).sum(),
            };
            if receipts && e.size > 0 {
                ensure!(counted == e.size, "{at}: {} leaves but its deltas count {counted} votes", e.size);
            }
            if let (Some(salt), Some(c)) = (&e.salt, &e.commitment) {
                let salt = chain::from_hex::<16>(salt).with_context(|| format!("{at}: salt is not 16 bytes of hex"))?;
                ensure!(
                    chain::to_hex(&chain::commitment(&salt, deltas, ballots)) == *c,
                    "{at}: commitment does not match SHA-256(salt || deltas)"
                );
            }
        } else {
            ensure!(e.commitment.is_some(), "{at}: neither deltas nor their commitment");
        }
        prev = entry_hash;
    }
    Ok(())
}

/// Checks an entry's ballots: sorted, positive, and adding up to its
/// counters (a `multiple` ballot counts for each choice, a ranking for its
/// first).
fn check_ballots<'a>(
    ballots: &'a [BallotDelta],
    deltas: &[Delta],
    kind: PollKind,
    at: &str,
) -> anyhow::Result<&'a [BallotDelta]> {
    ensure!(
        ballots.iter().zip(ballots.iter().skip(1)).all(|(a, b)| (a.track_id, &a.choices) < (b.track_id, &b.choices)),
        "{at}: ballots are not sorted by track, then choices"
    );
    ensure!(ballots.iter().all(|b| b.delta > 0 && !b.choices.is_empty()), "{at}: a ballot is empty or not positive");
    let mut derived: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for b in ballots {
        for &o in api::count::counted_options(kind, &b.choices) {
            *derived.entry((o, b.track_id)).or_default() += b.delta;
        }
    }
    let listed: BTreeMap<(i64, i64), i64> = deltas.iter().map(|d| ((d.option_id, d.track_id), d.delta)).collect();
    ensure!(derived == listed, "{at}: its counters are not what its ballots add up to");
    Ok(ballots)
}

/// A receipt from a file: a receipt, or a vote answer that holds one.
fn read_receipt(path: &PathBuf) -> anyhow::Result<Receipt> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("receipt {}: not JSON", path.display()))?;
    let value = value.get("receipt").cloned().unwrap_or(value);
    serde_json::from_value(value).with_context(|| format!("receipt {}: not a receipt", path.display()))
}

/// Checks `poll` on the server at `url` (a base URL); see the module.
pub async fn check(url: &str, poll: &str, receipt_files: &[PathBuf], ca: Option<PathBuf>) -> anyhow::Result<Summary> {
    let settings = WebhookSettings { allow_private: true, ca_file: ca };
    let client = crate::export::https_client(&settings, Duration::from_secs(30))?;
    let api = Api { client, base: url.trim_end_matches('/').to_owned(), poll: percent_encode(poll) };
    let receipts: Vec<(PathBuf, Receipt)> =
        receipt_files.iter().map(|p| read_receipt(p).map(|r| (p.clone(), r))).collect::<anyhow::Result<_>>()?;

    let def: Poll = api.must(&format!("/api/polls/{}", api.poll)).await?;
    // Results before the ledger: while votes arrive, the ledger read after
    // can only be ahead of them.
    let results: Option<Results> = api.get(&format!("/api/polls/{}/results", api.poll)).await?;
    let heads: LedgerHeads = api.must(&format!("/api/polls/{}/ledger/heads", api.poll)).await?;

    let mut summary = Summary { shards: heads.heads.len(), ..Summary::default() };
    let mut roots: HashMap<(String, i64), &LedgerEntry> = HashMap::new();
    let mut chains = Vec::new();
    for head in &heads.heads {
        let entries = api.chain(&head.shard).await?;
        check_chain(&entries, &head.shard, def.receipts, def.kind)?;
        let at_head = entries.get(usize::try_from(head.seq - 1).unwrap_or(usize::MAX));
        ensure!(
            at_head.is_some_and(|e| e.entry_hash == head.entry_hash),
            "entry shard={} seq={}: the chain does not reach the published head {}",
            head.shard,
            head.seq,
            head.entry_hash
        );
        summary.entries += entries.len() as u64;
        chains.push(entries);
    }
    for e in chains.iter().flatten() {
        roots.insert((e.shard.clone(), e.seq), e);
    }

    // Totals: the ledger's sums against the results API.
    let mut ledger: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let revealed = chains.iter().flatten().all(|e| e.deltas.is_some());
    for d in chains.iter().flatten().filter_map(|e| e.deltas.as_ref()).flatten() {
        *ledger.entry((d.option_id, d.track_id)).or_default() += d.delta;
    }
    summary.totals = match (&results, revealed) {
        (Some(results), true) => {
            let closed = results.status == PollStatus::Closed;
            let mut published: BTreeMap<(i64, i64), i64> = BTreeMap::new();
            for t in &results.tracks {
                for o in &t.options {
                    published.insert((o.option_id, t.id), o.votes);
                }
            }
            for (&(option, track), &votes) in &published {
                let sum = ledger.get(&(option, track)).copied().unwrap_or(0);
                if closed {
                    ensure!(
                        sum == votes,
                        "totals: option {option} on track {track}: results say {votes}, the ledger sums to {sum}"
                    );
                } else {
                    ensure!(
                        votes <= sum,
                        "totals: option {option} on track {track}: results say {votes}, more than the ledger's {sum}"
                    );
                }
            }
            if let Some(((option, track), sum)) = ledger.iter().find(|(k, v)| **v > 0 && !published.contains_key(k)) {
                bail!(
                    "totals: the ledger counts {sum} votes for option {option} on track {track}, which the results do not show"
                );
            }
            if def.kind.has_ballots() {
                check_ballot_totals(&def, results, chains.iter().flatten(), closed)?;
            }
            summary.votes = Some(if def.kind.has_ballots() {
                chains.iter().flatten().filter_map(|e| e.ballots.as_ref()).flatten().map(|b| b.delta).sum()
            } else {
                ledger.values().sum()
            });
            if closed {
                "equal to the results API (poll closed)".into()
            } else {
                "the results API trails or equals the ledger (poll open: compare again after close)".into()
            }
        }
        _ => "not compared: results are hidden, so entries show commitments".into(),
    };

    // Receipts: each path leads to its entry's root.
    for (path, r) in &receipts {
        let at = format!("receipt {} (shard={} seq={} index={})", path.display(), r.shard, r.seq, r.index);
        ensure!(r.poll == poll, "{at}: it is for poll {:?}", r.poll);
        let root = r.check_path().map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        let entry =
            roots.get(&(r.shard.clone(), r.seq)).with_context(|| format!("{at}: no such entry in the ledger"))?;
        let counted = r.against(&root, entry).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        ensure!(
            counted != chain::Counted::No,
            "{at}: the entry counts no vote for option {} on track {}",
            r.option_id,
            r.track_id
        );
        summary.receipts += 1;
    }
    Ok(summary)
}

/// A `multiple` or `ranked` poll: each track's ballots, and a ranked
/// track's instant runoff recomputed from the ledger's ballots, against the
/// results (equal once closed; while open the results may trail).
fn check_ballot_totals<'a>(
    def: &Poll,
    results: &Results,
    entries: impl Iterator<Item = &'a LedgerEntry>,
    closed: bool,
) -> anyhow::Result<()> {
    let mut per_track: BTreeMap<i64, BTreeMap<&[i64], i64>> = BTreeMap::new();
    for b in entries.filter_map(|e| e.ballots.as_ref()).flatten() {
        *per_track.entry(b.track_id).or_default().entry(&b.choices).or_default() += b.delta;
    }
    let options: Vec<i64> = def.options.iter().map(|o| o.id).collect();
    for t in &results.tracks {
        let ballots = per_track.remove(&t.id).unwrap_or_default();
        let sum: i64 = ballots.values().sum();
        if !closed {
            ensure!(
                t.ballots <= sum,
                "totals: track {}: results say {} ballots, more than the ledger's {sum}",
                t.id,
                t.ballots
            );
            continue;
        }
        ensure!(
            t.ballots == sum,
            "totals: track {}: results say {} ballots, the ledger sums to {sum}",
            t.id,
            t.ballots
        );
        if def.kind == PollKind::Ranked {
            let recount = api::count::instant_runoff(&options, ballots.iter().map(|(c, n)| (*c, *n)));
            ensure!(
                t.instant_runoff.as_ref() == Some(&recount),
                "totals: track {}: the instant runoff recounted from the ledger (winner {:?}) is not the results' ({:?})",
                t.id,
                recount.winner,
                t.instant_runoff.as_ref().and_then(|r| r.winner)
            );
        }
    }
    if let Some((track, _)) = per_track.iter().find(|(_, b)| b.values().any(|n| *n > 0)) {
        bail!("totals: the ledger counts ballots on track {track}, which the results do not show");
    }
    Ok(())
}

/// `urna verify`: prints the summary, or fails with the first fault.
#[allow(clippy::print_stdout, reason = "the verifier's answer is its output")]
pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let summary = check(&args.url, &args.poll, &args.receipts, args.ca_file).await?;
    println!("poll {}: {summary}", args.poll);
    Ok(())
}
