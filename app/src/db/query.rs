//! Reads.
use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{audit_log, ballots, counters, poll_options, polls, tracks};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::{AckMode, Dedupe, OptionDef, PollDef, PollStatus, TrackDef, Visibility, VoterIdentity};

fn poll_def(p: polls::Model, options: Vec<poll_options::Model>, tracks: Vec<tracks::Model>) -> anyhow::Result<PollDef> {
    let bad = |e: String| anyhow::anyhow!("poll {} has an invalid stored value: {e}", p.id);
    let mut options: Vec<OptionDef> = options
        .into_iter()
        .map(|o| OptionDef { id: o.id, label: o.label, image_url: o.image_url, position: o.position })
        .collect();
    options.sort_by_key(|o| (o.position, o.id));
    let mut defs = Vec::with_capacity(tracks.len());
    for t in tracks {
        defs.push(TrackDef {
            id: t.id,
            name: t.name,
            dedupe: Dedupe::parse(&t.dedupe).map_err(bad)?,
            weight: t.weight,
            position: t.position,
        });
    }
    defs.sort_by_key(|t| (t.position, t.id));
    Ok(PollDef {
        status: PollStatus::parse(&p.status).map_err(bad)?,
        results_visibility: Visibility::parse(&p.results_visibility).map_err(bad)?,
        ack: AckMode::parse(&p.ack_mode).map_err(bad)?,
        voter_identity: VoterIdentity::parse(&p.voter_identity).map_err(bad)?,
        pow: crate::domain::pow_from_column(p.pow_difficulty),
        id: p.id,
        slug: p.slug,
        title: p.title,
        description: p.description,
        opens_at: p.opens_at,
        closes_at: p.closes_at,
        closed_at: p.closed_at,
        created_at: p.created_at,
        updated_at: p.updated_at,
        version: p.version,
        webhook_url: p.webhook_url,
        receipts: p.receipts,
        revealed_at: p.revealed_at,
        language: crate::domain::Language::parse(&p.language).map_err(bad)?,
        ballot: crate::domain::BallotRule {
            kind: crate::domain::PollKind::parse(&p.kind).map_err(bad)?,
            min: u32::try_from(p.min_choices).unwrap_or(1),
            max: u32::try_from(p.max_choices).unwrap_or(1),
        },
        embed_origins: p
            .embed_origins
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad(e.to_string()))?
            .unwrap_or_default(),
        options,
        tracks: defs,
    })
}

/// Every poll with its options and tracks, in three queries.
pub async fn all_polls(db: &impl ConnectionTrait) -> anyhow::Result<Vec<PollDef>> {
    let polls = polls::Entity::find().order_by_asc(polls::Column::Id).all(db).await?;
    let mut options: HashMap<i64, Vec<poll_options::Model>> = HashMap::new();
    for o in poll_options::Entity::find().all(db).await? {
        options.entry(o.poll_id).or_default().push(o);
    }
    let mut tracks: HashMap<i64, Vec<tracks::Model>> = HashMap::new();
    for t in tracks::Entity::find().all(db).await? {
        tracks.entry(t.poll_id).or_default().push(t);
    }
    polls
        .into_iter()
        .map(|p| {
            let id = p.id;
            poll_def(p, options.remove(&id).unwrap_or_default(), tracks.remove(&id).unwrap_or_default())
        })
        .collect()
}

/// One poll with its options and tracks.
pub async fn poll_by_id(db: &impl ConnectionTrait, id: i64) -> anyhow::Result<Option<PollDef>> {
    let Some(p) = polls::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let options = poll_options::Entity::find().filter(poll_options::Column::PollId.eq(id)).all(db).await?;
    let tracks = tracks::Entity::find().filter(tracks::Column::PollId.eq(id)).all(db).await?;
    poll_def(p, options, tracks).map(Some)
}

/// `(id, version)` of every poll: what the refresh loop compares against
/// the registry to learn about changes made elsewhere.
pub async fn poll_versions(db: &impl ConnectionTrait) -> Result<Vec<(i64, i64)>, DbErr> {
    polls::Entity::find()
        .select_only()
        .column(polls::Column::Id)
        .column(polls::Column::Version)
        .into_tuple()
        .all(db)
        .await
}

/// One counter row: a shard's count for an option on a track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterRow {
    pub option_id: i64,
    pub track_id: i64,
    pub shard: String,
    pub votes: i64,
}

/// Every counter row of a poll, across all shards.
pub async fn counters_of_poll(db: &impl ConnectionTrait, poll_id: i64) -> Result<Vec<CounterRow>, DbErr> {
    Ok(counters::Entity::find()
        .filter(counters::Column::PollId.eq(poll_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| CounterRow { option_id: c.option_id, track_id: c.track_id, shard: c.shard, votes: c.votes })
        .collect())
}

/// A poll's committed counts: `(option, track, votes)` per shard, and the
/// commit time they reflect.
pub struct PollCounts {
    pub by_shard: HashMap<String, Vec<(i64, i64, i64)>>,
    /// Each shard's counts of distinct ballots (`multiple` and `ranked`).
    pub ballots_by_shard: HashMap<String, Vec<crate::domain::BallotTotal>>,
    pub as_of: Option<DateTime<Utc>>,
}

/// Every shard's counters of a poll and its newest commit time.
pub async fn poll_counts(db: &impl ConnectionTrait, poll_id: i64) -> Result<PollCounts, DbErr> {
    let mut by_shard: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
    for r in counters_of_poll(db, poll_id).await? {
        by_shard.entry(r.shard).or_default().push((r.option_id, r.track_id, r.votes));
    }
    let mut ballots_by_shard: HashMap<String, Vec<crate::domain::BallotTotal>> = HashMap::new();
    for b in ballots::Entity::find().filter(ballots::Column::PollId.eq(poll_id)).all(db).await? {
        let choices = crate::domain::parse_choices(&b.choices).map_err(DbErr::Custom)?;
        ballots_by_shard.entry(b.shard).or_default().push((b.track_id, choices, b.votes));
    }
    Ok(PollCounts { by_shard, ballots_by_shard, as_of: last_commit_at(db, poll_id).await? })
}

/// The commit time of the poll's newest batch: what its totals reflect.
pub async fn last_commit_at(db: &impl ConnectionTrait, poll_id: i64) -> Result<Option<DateTime<Utc>>, DbErr> {
    use entity::batches;
    let at: Option<Option<DateTime<Utc>>> = batches::Entity::find()
        .select_only()
        .column_as(batches::Column::CommittedAt.max(), "m")
        .filter(batches::Column::PollId.eq(poll_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(at.flatten())
}

/// The newest audit entries, newest first.
pub async fn audit_entries(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<audit_log::Model>, DbErr> {
    audit_log::Entity::find().order_by_desc(audit_log::Column::Id).limit(limit).all(db).await
}

/// A named server secret, if one was stored.
pub async fn secret(db: &impl ConnectionTrait, name: &str) -> anyhow::Result<Option<String>> {
    Ok(entity::app_secrets::Entity::find_by_id(name.to_owned())
        .one(db)
        .await
        .context("reading app secret")?
        .map(|s| s.value))
}

/// Votes committed per `bucket_secs`-second bucket: `(bucket start in unix
/// seconds, votes)`, oldest first. Read from the batch ledger, whose
/// `(poll_id, committed_at)` index serves it.
pub async fn votes_per_bucket(
    db: &impl ConnectionTrait,
    poll_id: i64,
    bucket_secs: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let epoch = match backend {
        sea_orm::DbBackend::Postgres => "extract(epoch from committed_at)::bigint",
        _ => "CAST(strftime('%s', committed_at) AS INTEGER)",
    };
    let mut sql = crate::db::Sql::new(backend);
    sql.push("SELECT (").push(epoch).push(" / ").bind(bucket_secs).push(") * ").bind(bucket_secs);
    sql.push(" AS t, CAST(SUM(votes) AS BIGINT) AS n FROM batches WHERE poll_id = ").bind(poll_id);
    sql.push(" GROUP BY 1 ORDER BY 1");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter().map(|r| Ok((r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?))).collect()
}

/// How many invite codes a poll has, and how many were used.
pub async fn invite_stats(db: &impl ConnectionTrait, poll_id: i64) -> Result<(i64, i64), DbErr> {
    let mut sql = super::Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS total, COUNT(used_at) AS used FROM invites WHERE poll_id = ").bind(poll_id);
    let row = db.query_one_raw(sql.build()).await?;
    match row {
        Some(r) => Ok((r.try_get("", "total")?, r.try_get("", "used")?)),
        None => Ok((0, 0)),
    }
}
