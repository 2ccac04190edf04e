//! The public ledger's format, exactly, so that anyone can write a verifier:
//! hashes are SHA-256, integers 8-byte big-endian, `||` concatenation, hex
//! lowercase.
//!
//! - A counted vote is a leaf `SHA-256(0x00 || nonce || option_id || track_id)`
//!   with a 16-byte nonce chosen by the server. In `multiple` and `ranked`
//!   polls a ballot is a leaf `SHA-256(0x00 || nonce || track_id || k ||
//!   choice_1 || … || choice_k)` over its canonical choices
//!   (`count::canonical_ballot`: a set in ascending id order, a ranking in
//!   its order).
//! - A batch's `root` is the RFC 6962 Merkle Tree Hash of its leaves in
//!   batch order (interior nodes `SHA-256(0x01 || left || right)`, the empty
//!   tree `SHA-256()`); a receipt carries the RFC 6962 audit path of its leaf.
//! - Each poll and shard has one chain:
//!   `entry_hash = SHA-256(prev_hash || seq || root || deltas)`, `deltas`
//!   being `option_id || track_id || delta` for each counter the batch
//!   changed, sorted by option then track; the first `prev_hash` is 32 zero
//!   bytes and `seq` counts up from 1. In `multiple` and `ranked` polls
//!   `deltas` is instead `n || counters… || m || ballots…`: the number of
//!   counters, the counters as above, the number of distinct ballots, and
//!   each as `track_id || k || choice_1 || … || choice_k || delta`, sorted by
//!   track, then choices. (A `multiple` ballot adds one to each chosen
//!   option's counter, a `ranked` ballot to its first choice's.)
//! - While results are hidden an entry shows `SHA-256(salt || deltas)`
//!   instead of its deltas (and ballots).
//!
//! The server, `urna verify` and the verify page all use these functions.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: Hash = [0; 32];

/// The root of a tree without leaves: `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The leaf of one counted vote.
pub fn leaf_hash(nonce: &[u8; 16], option_id: i64, track_id: i64) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(nonce);
    h.update(option_id.to_be_bytes());
    h.update(track_id.to_be_bytes());
    h.finalize().into()
}

/// The leaf of one counted ballot of a `multiple` or `ranked` poll.
pub fn ballot_leaf_hash(nonce: &[u8; 16], track_id: i64, choices: &[i64]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(nonce);
    h.update(track_id.to_be_bytes());
    h.update((choices.len() as u64).to_be_bytes());
    for c in choices {
        h.update(c.to_be_bytes());
    }
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A batch's Merkle tree, every level kept, so that each leaf's audit path
/// is a walk up (the whole batch's receipts cost one tree, not one each).
///
/// Built bottom-up, pairing neighbours and carrying an odd last node up
/// unhashed: the same tree as RFC 6962's recursive split at the largest
/// power of two (the tests compare the two).
#[derive(Debug, PartialEq, Eq)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let up: Vec<Hash> = last
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [one] => *one,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(up);
        }
        Self { levels }
    }

    /// Leaves in the tree.
    pub fn size(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// The Merkle Tree Hash; `SHA-256()` for no leaves.
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) => *root,
            None => empty_root(),
        }
    }

    /// The audit path of leaf `index`, from the leaf up; empty for an index
    /// outside the tree.
    pub fn path(&self, index: usize) -> Vec<Hash> {
        self.path_nodes(index).map(|(_, _, hash)| *hash).collect()
    }

    /// The audit path of leaf `index` with where each hash lies: its level
    /// (0 for the leaves) and place in it, from the leaf up; nothing for an
    /// index outside the tree.
    pub fn path_nodes(&self, index: usize) -> impl Iterator<Item = (usize, usize, &Hash)> + '_ {
        let below_root = if index < self.size() { self.levels.len().saturating_sub(1) } else { 0 };
        self.levels.iter().take(below_root).enumerate().filter_map(move |(level, nodes)| {
            let i = (index >> level) ^ 1;
            nodes.get(i).map(|hash| (level, i, hash))
        })
    }

    /// Every level, the leaves first and the root last.
    pub fn levels(&self) -> &[Vec<Hash>] {
        &self.levels
    }
}

/// The root that `leaf` at `index` of a tree of `size` leaves and its
/// audit path `path` lead to (RFC 9162, 2.1.3.2), or `None` when the path
/// has the wrong length for that position.
pub fn root_from_path(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// `option_id || track_id || delta` for each counter, in the order given
/// (the ledger keeps them sorted by option, then track).
pub fn delta_bytes(deltas: &[Delta]) -> Vec<u8> {
    let mut out = Vec::with_capacity(deltas.len() * 24);
    for d in deltas {
        out.extend_from_slice(&d.option_id.to_be_bytes());
        out.extend_from_slice(&d.track_id.to_be_bytes());
        out.extend_from_slice(&d.delta.to_be_bytes());
    }
    out
}

/// What an entry's hashes cover of its counts: the counters' bytes alone
/// (`single` polls, `ballots` `None`), or `n || counters || m || ballots`.
pub fn counts_bytes(deltas: &[Delta], ballots: Option<&[BallotDelta]>) -> Vec<u8> {
    let Some(ballots) = ballots else { return delta_bytes(deltas) };
    let mut out = (deltas.len() as u64).to_be_bytes().to_vec();
    out.extend(delta_bytes(deltas));
    out.extend((ballots.len() as u64).to_be_bytes());
    for b in ballots {
        out.extend(b.track_id.to_be_bytes());
        out.extend((b.choices.len() as u64).to_be_bytes());
        for c in &b.choices {
            out.extend(c.to_be_bytes());
        }
        out.extend(b.delta.to_be_bytes());
    }
    out
}

/// `SHA-256(prev_hash || seq || root || deltas)`, `deltas` as
/// [`counts_bytes`] writes them.
pub fn entry_hash(prev: &Hash, seq: i64, root: &Hash, deltas: &[Delta], ballots: Option<&[BallotDelta]>) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(root);
    h.update(counts_bytes(deltas, ballots));
    h.finalize().into()
}

/// `SHA-256(salt || deltas)`: what an entry shows while results are hidden.
pub fn commitment(salt: &[u8; 16], deltas: &[Delta], ballots: Option<&[BallotDelta]>) -> Hash {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(counts_bytes(deltas, ballots));
    h.finalize().into()
}

/// Lowercase hex of 16 or 32 bytes, or anything.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(bytes, &mut out);
    out
}

/// Appends the lowercase hex of `bytes` to `out`.
pub fn push_hex(bytes: &[u8], out: &mut String) {
    // A hash at a time through a buffer: pushing chars one by one costs
    // a UTF-8 encoding each.
    let digit = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (pair, b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&[digit(b >> 4), digit(b & 15)]);
        }
        out.push_str(std::str::from_utf8(buf.get(..chunk.len() * 2).unwrap_or_default()).unwrap_or_default());
    }
}

/// Exactly `N` bytes from hex (either case).
pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        let [hi, lo] = pair else { return None };
        *o = (digit(*hi)? << 4) | digit(*lo)?;
    }
    Some(out)
}

/// One counter a batch changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delta {
    pub option_id: i64,
    pub track_id: i64,
    pub delta: i64,
}

/// From the `(option_id, track_id, delta)` a batch's outcome stores.
impl From<(i64, i64, i64)> for Delta {
    fn from((option_id, track_id, delta): (i64, i64, i64)) -> Self {
        Delta { option_id, track_id, delta }
    }
}

/// How many ballots of one kind a batch counted on a track (`multiple`
/// and `ranked` polls).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BallotDelta {
    pub track_id: i64,
    /// The canonical ballot (`count::canonical_ballot`).
    pub choices: Vec<i64>,
    pub delta: i64,
}

/// The proof that one vote is in a committed batch: part of a `200` vote
/// answer for a poll with receipts. Hashes and the nonce in hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// The poll's slug.
    pub poll: String,
    /// The chain (instance) the batch is in.
    pub shard: String,
    /// The batch's entry in that chain.
    pub seq: i64,
    /// This vote's leaf in the batch.
    pub index: u64,
    /// Leaves in the batch.
    pub size: u64,
    pub nonce: String,
    /// The option voted for; for a ballot of several, its first choice.
    pub option_id: i64,
    pub track_id: i64,
    /// `multiple` and `ranked` polls: the ballot, canonical; its leaf is
    /// the ballot's leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<i64>>,
    /// The batch's Merkle root.
    pub root: String,
    /// RFC 6962 audit path of leaf `index`, from the leaf up.
    pub proof: Vec<String>,
}

/// Why a receipt does not hold on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptFault {
    /// A field is not hex of the right length.
    Malformed(&'static str),
    /// Its path does not lead to its root.
    PathMismatch,
    /// Its root or its tree's size is not its ledger entry's.
    EntryMismatch,
}

/// What a receipt's ledger entry says of its vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Yes,
    No,
    /// The entry shows a commitment, not its counts (results are hidden).
    Hidden,
}

impl std::fmt::Display for ReceiptFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptFault::Malformed(field) => write!(f, "its {field} is not hex of the right length"),
            ReceiptFault::PathMismatch => f.write_str("its audit path does not lead to its root"),
            ReceiptFault::EntryMismatch => f.write_str("its root or its tree's size is not that ledger entry's"),
        }
    }
}

impl Receipt {
    /// Checks that the vote's leaf and the audit path lead to the receipt's
    /// root; the caller then compares that root with the ledger's entry.
    pub fn check_path(&self) -> Result<Hash, ReceiptFault> {
        let nonce = from_hex::<16>(&self.nonce).ok_or(ReceiptFault::Malformed("nonce"))?;
        let root = from_hex::<32>(&self.root).ok_or(ReceiptFault::Malformed("root"))?;
        let path: Vec<Hash> = self
            .proof
            .iter()
            .map(|p| from_hex::<32>(p))
            .collect::<Option<_>>()
            .ok_or(ReceiptFault::Malformed("proof"))?;
        let leaf = match &self.choices {
            Some(choices) => ballot_leaf_hash(&nonce, self.track_id, choices),
            None => leaf_hash(&nonce, self.option_id, self.track_id),
        };
        match root_from_path(&leaf, self.index, self.size, &path) {
            Some(r) if r == root => Ok(root),
            _ => Err(ReceiptFault::PathMismatch),
        }
    }

    /// Holds the receipt, whose path led to `root` ([`Self::check_path`]),
    /// against its ledger entry: the same root and size, and, where the
    /// entry shows its counts, a vote for this option and track among them.
    pub fn against(&self, root: &Hash, entry: &LedgerEntry) -> Result<Counted, ReceiptFault> {
        if to_hex(root) != entry.root || i64::try_from(self.size).ok() != Some(entry.size) {
            return Err(ReceiptFault::EntryMismatch);
        }
        let ours = |d: &Delta| d.option_id == self.option_id && d.track_id == self.track_id && d.delta > 0;
        let counted = match (&self.choices, &entry.deltas) {
            (_, None) => return Ok(Counted::Hidden),
            (None, Some(deltas)) => deltas.iter().any(ours),
            (Some(choices), Some(_)) => entry
                .ballots
                .iter()
                .flatten()
                .any(|b| b.track_id == self.track_id && b.choices == *choices && b.delta > 0),
        };
        Ok(if counted { Counted::Yes } else { Counted::No })
    }
}

/// One batch in a chain, as `GET /api/polls/{slug}/ledger` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub shard: String,
    pub seq: i64,
    pub prev_hash: String,
    pub root: String,
    /// Leaves under `root`: the votes the batch counted (0 for a poll
    /// without receipts, whose root is that of the empty tree).
    pub size: i64,
    /// The counters the batch changed; absent while results are hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deltas: Option<Vec<Delta>>,
    /// `multiple` and `ranked` polls: the distinct ballots the batch
    /// counted, sorted by track, then choices; absent while results are
    /// hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots: Option<Vec<BallotDelta>>,
    /// `SHA-256(salt || deltas)`; shown instead of `deltas` while results
    /// are hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// The 16-byte salt of `commitment`, published with `deltas` at close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    pub entry_hash: String,
    pub committed_at: DateTime<Utc>,
}

/// A page of one chain, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    /// The `after` of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// The latest entry of one shard's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerHead {
    pub shard: String,
    pub seq: i64,
    pub entry_hash: String,
}

/// `GET /api/polls/{slug}/ledger/heads`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerHeads {
    /// Whether entries show their deltas (results are public).
    pub revealed: bool,
    pub heads: Vec<LedgerHead>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's definition, word for word: split at the largest power of
    /// two below `n`.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// The largest power of two below `n`.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i as u8; 16], i as i64, 1)).collect()
    }

    #[test]
    fn the_level_tree_is_rfc_6962s_tree_and_every_path_verifies() {
        for n in 0..=70 {
            let l = leaves(n);
            let tree = Tree::new(l.clone());
            assert_eq!(tree.root(), mth(&l), "root of {n}");
            for m in 0..n {
                let p = tree.path(m);
                assert_eq!(p, path(m, &l), "path of {m} in {n}");
                assert_eq!(root_from_path(&l[m], m as u64, n as u64, &p), Some(tree.root()), "{m} in {n}");
                // Another position does not verify. (Another size can: a
                // path does not bind the size, which is why the ledger's
                // deltas must add up to it.)
                if n > 1 {
                    assert_ne!(root_from_path(&l[m], (m as u64 + 1) % n as u64, n as u64, &p), Some(tree.root()));
                }
            }
        }
    }

    #[test]
    fn known_answers() {
        // SHA-256 of nothing: RFC 6962's empty tree.
        assert_eq!(
            to_hex(&Tree::new(vec![]).root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The leaf and entry encodings, byte by byte.
        let leaf = leaf_hash(&[0; 16], 1, 2);
        let mut bytes = vec![0u8];
        bytes.extend([0u8; 16]);
        bytes.extend(1i64.to_be_bytes());
        bytes.extend(2i64.to_be_bytes());
        assert_eq!(leaf, <Hash>::from(Sha256::digest(&bytes)));
        let d = [Delta { option_id: 1, track_id: 2, delta: 3 }];
        assert_eq!(delta_bytes(&d).len(), 24);
        assert_eq!(from_hex::<2>("0aFf"), Some([10, 255]));
        assert_eq!(from_hex::<2>("0a"), None);
        assert_eq!(to_hex(&[10, 255]), "0aff");
    }

    #[test]
    fn a_receipt_checks_its_path_and_a_changed_field_breaks_it() {
        let nonces: Vec<[u8; 16]> = (0..5u8).map(|i| [i; 16]).collect();
        let l: Vec<Hash> = nonces.iter().enumerate().map(|(i, n)| leaf_hash(n, 10 + i as i64, 1)).collect();
        let tree = Tree::new(l);
        let receipt = Receipt {
            poll: "p".into(),
            shard: "s".into(),
            seq: 1,
            index: 3,
            size: 5,
            nonce: to_hex(&nonces[3]),
            option_id: 13,
            track_id: 1,
            choices: None,
            root: to_hex(&tree.root()),
            proof: tree.path(3).iter().map(|h| to_hex(h)).collect(),
        };
        assert_eq!(receipt.check_path(), Ok(tree.root()));
        let other = Receipt { option_id: 12, ..receipt.clone() };
        assert_eq!(other.check_path(), Err(ReceiptFault::PathMismatch));
        let bad = Receipt { nonce: "zz".into(), ..receipt.clone() };
        assert_eq!(bad.check_path(), Err(ReceiptFault::Malformed("nonce")));

        // Against its entry: same root and size, then whether it counts the vote.
        let root = tree.root();
        let entry = LedgerEntry {
            shard: "s".into(),
            seq: 1,
            prev_hash: to_hex(&[0; 32]),
            root: to_hex(&root),
            size: 5,
            deltas: Some((10..15).map(|o| Delta { option_id: o, track_id: 1, delta: 1 }).collect()),
            ballots: None,
            commitment: None,
            salt: None,
            entry_hash: String::new(),
            committed_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(receipt.against(&root, &entry), Ok(Counted::Yes));
        let hidden = LedgerEntry { deltas: None, ..entry.clone() };
        assert_eq!(receipt.against(&root, &hidden), Ok(Counted::Hidden));
        let elsewhere =
            LedgerEntry { deltas: Some(vec![Delta { option_id: 13, track_id: 2, delta: 5 }]), ..entry.clone() };
        assert_eq!(receipt.against(&root, &elsewhere), Ok(Counted::No));
        let bigger = LedgerEntry { size: 6, ..entry.clone() };
        assert_eq!(receipt.against(&root, &bigger), Err(ReceiptFault::EntryMismatch));
        assert_eq!(receipt.against(&[7; 32], &entry), Err(ReceiptFault::EntryMismatch));
    }

    #[test]
    fn a_ballot_receipt_checks_its_choices_against_the_entrys_ballots() {
        let nonce = [7u8; 16];
        let leaf = ballot_leaf_hash(&nonce, 1, &[12, 10]);
        let mut bytes = vec![0u8];
        bytes.extend(nonce);
        bytes.extend(1i64.to_be_bytes());
        bytes.extend(2u64.to_be_bytes());
        bytes.extend(12i64.to_be_bytes());
        bytes.extend(10i64.to_be_bytes());
        assert_eq!(leaf, <Hash>::from(Sha256::digest(&bytes)));
        let tree = Tree::new(vec![leaf_hash(&[1; 16], 10, 1), leaf]);
        let receipt = Receipt {
            poll: "p".into(),
            shard: "s".into(),
            seq: 1,
            index: 1,
            size: 2,
            nonce: to_hex(&nonce),
            option_id: 12,
            track_id: 1,
            choices: Some(vec![12, 10]),
            root: to_hex(&tree.root()),
            proof: tree.path(1).iter().map(|h| to_hex(h)).collect(),
        };
        let root = receipt.check_path().expect("path holds");
        let reordered = Receipt { choices: Some(vec![10, 12]), ..receipt.clone() };
        assert_eq!(reordered.check_path(), Err(ReceiptFault::PathMismatch), "a ranking's order is in its leaf");
        let ballots = vec![BallotDelta { track_id: 1, choices: vec![12, 10], delta: 1 }];
        let entry = LedgerEntry {
            shard: "s".into(),
            seq: 1,
            prev_hash: to_hex(&[0; 32]),
            root: to_hex(&root),
            size: 2,
            deltas: Some(vec![Delta { option_id: 12, track_id: 1, delta: 2 }]),
            ballots: Some(ballots.clone()),
            commitment: None,
            salt: None,
            entry_hash: String::new(),
            committed_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(receipt.against(&root, &entry), Ok(Counted::Yes));
        let other =
            LedgerEntry { ballots: Some(vec![BallotDelta { track_id: 1, choices: vec![12, 11], delta: 2 }]), ..entry };
        assert_eq!(receipt.against(&root, &other), Ok(Counted::No));
        // The counts' bytes: both lengths lead, so counters and ballots cannot trade bytes.
        let d = [Delta { option_id: 12, track_id: 1, delta: 2 }];
        assert_eq!(counts_bytes(&d, None), delta_bytes(&d));
        assert_eq!(counts_bytes(&d, Some(&ballots)).len(), 8 + 24 + 8 + (8 + 8 + 16 + 8));
        assert_ne!(entry_hash(&GENESIS, 1, &root, &d, None), entry_hash(&GENESIS, 1, &root, &d, Some(&ballots)));
    }
}
