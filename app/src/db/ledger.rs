//! Reads of the public ledger: the chain entries the batch transaction
//! (`crate::vote`'s `ledger`) writes on each `batches` row.
use api::ledger::{BallotDelta, Delta, Hash};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::Sql;

/// One chain entry as stored.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    pub shard: String,
    pub seq: i64,
    pub prev_hash: Hash,
    pub root: Hash,
    pub size: i64,
    pub deltas: Vec<Delta>,
    /// The distinct ballots it counted (`multiple` and `ranked` polls).
    pub ballots: Vec<BallotDelta>,
    pub salt: [u8; 16],
    pub entry_hash: Hash,
    pub committed_at: DateTime<Utc>,
}

/// The deltas of a batch, from its stored outcome.
#[derive(serde::Deserialize)]
struct Outcome {
    deltas: Vec<(i64, i64, i64)>,
    #[serde(default)]
    ballots: Vec<crate::domain::BallotTotal>,
}

fn bytes<const N: usize>(row: &QueryResult, column: &str) -> Result<[u8; N], DbErr> {
    let v: Vec<u8> = row.try_get("", column)?;
    v.try_into().map_err(|_| DbErr::Custom(format!("ledger column {column} is not {N} bytes")))
}

fn entry(row: &QueryResult) -> Result<StoredEntry, DbErr> {
    let outcome: String = row.try_get("", "outcome")?;
    let outcome: Outcome =
        serde_json::from_str(&outcome).map_err(|e| DbErr::Custom(format!("ledger outcome unreadable: {e}")))?;
    Ok(StoredEntry {
        shard: row.try_get("", "shard")?,
        seq: row.try_get("", "chain_seq")?,
        prev_hash: bytes(row, "prev_hash")?,
        root: bytes(row, "root")?,
        size: row.try_get("", "size")?,
        deltas: outcome.deltas.into_iter().map(Delta::from).collect(),
        ballots: outcome
            .ballots
            .into_iter()
            .map(|(track_id, choices, delta)| BallotDelta { track_id, choices, delta })
            .collect(),
        salt: bytes(row, "salt")?,
        entry_hash: bytes(row, "entry_hash")?,
        committed_at: row.try_get("", "committed_at")?,
    })
}

/// Up to `limit` entries of one chain after `after`, oldest first.
pub async fn entries(
    db: &impl ConnectionTrait,
    poll_id: i64,
    shard: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<StoredEntry>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT shard, chain_seq, prev_hash, root, size, outcome, salt, entry_hash, committed_at \
         FROM batches WHERE poll_id = ",
    )
    .bind(poll_id)
    .push(" AND shard = ")
    .bind(shard)
    .push(" AND chain_seq > ")
    .bind(after)
    .push(" ORDER BY chain_seq LIMIT ")
    .bind(limit as i64);
    db.query_all_raw(sql.build()).await?.iter().map(entry).collect()
}

/// Each shard's latest entry: `(shard, seq, entry_hash)`, by shard.
pub async fn heads(db: &impl ConnectionTrait, poll_id: i64) -> Result<Vec<(String, i64, Hash)>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT b.shard, b.chain_seq, b.entry_hash FROM batches b WHERE b.poll_id = ").bind(poll_id).push(
        " AND b.chain_seq = (SELECT MAX(c.chain_seq) FROM batches c \
             WHERE c.poll_id = b.poll_id AND c.shard = b.shard) ORDER BY b.shard",
    );
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "shard")?, r.try_get("", "chain_seq")?, bytes(r, "entry_hash")?)))
        .collect()
}
