//! Admin-side writes. Every change to a poll writes its audit row in the same
//! transaction, so the audit log cannot miss an action that happened.
use chrono::{DateTime, Utc};
use entity::{admins, app_secrets, audit_log, poll_options, polls, tracks};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Set, SqlErr, TransactionTrait,
};

use super::{Sql, query};
use crate::domain::{NewOption, NewPoll, NewTrack, Phase, PollDef, PollPatch, PollStatus, phase_of};

/// Why an admin mutation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MutationError {
    #[error("no poll with id {0}")]
    NotFound(i64),
    #[error("a poll with this slug already exists")]
    SlugTaken,
    #[error("an admin with this username already exists")]
    UsernameTaken,
    #[error("options and tracks can only change before the poll opens")]
    BallotLocked,
    #[error("a closed poll's schedule cannot change")]
    ScheduleLocked,
    #[error("close the poll before deleting it")]
    StillOpen,
    #[error("a closed poll cannot be reopened")]
    CannotReopen,
    #[error("closes_at is in the past; change it before opening")]
    ClosesInPast,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The database's clock: decisions about open and closed use it, never an
/// instance's. SQLite is embedded, so its clock is this process's.
pub async fn db_now(db: &impl ConnectionTrait) -> Result<DateTime<Utc>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Utc::now());
    }
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT now() AS now");
    let row =
        db.query_one_raw(sql.build()).await?.ok_or_else(|| DbErr::Custom("SELECT now() returned no row".into()))?;
    row.try_get("", "now")
}

pub async fn append_audit(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        target: Set(target.to_owned()),
        detail: Set(detail.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

async fn insert_options_and_tracks(
    db: &impl ConnectionTrait,
    poll_id: i64,
    options: &[NewOption],
    tracks: &[NewTrack],
) -> Result<(), DbErr> {
    for (i, o) in options.iter().enumerate() {
        poll_options::ActiveModel {
            poll_id: Set(poll_id),
            label: Set(o.label.clone()),
            image_url: Set(o.image_url.clone()),
            position: Set(i as i32),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    for (i, t) in tracks.iter().enumerate() {
        tracks::ActiveModel {
            poll_id: Set(poll_id),
            name: Set(t.name.clone()),
            dedupe: Set(t.dedupe.as_str().to_owned()),
            weight: Set(t.weight),
            position: Set(i as i32),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// `version + 1`, computed by the database so that concurrent changes each
/// get their own number (the UPDATE's row lock orders them).
fn next_version() -> Expr {
    Expr::col(polls::Column::Version).add(1)
}

/// Counts a change to a poll.
async fn bump_version(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    polls::Entity::update_many()
        .col_expr(polls::Column::Version, next_version())
        .filter(polls::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Creates a poll (status `scheduled` when it has an opening time, else
/// `draft`) and returns its id.
pub async fn create_poll(db: &DatabaseConnection, new: &NewPoll, actor: &str) -> Result<i64, MutationError> {
    let now = Utc::now();
    let status = if new.opens_at.is_some() { PollStatus::Scheduled } else { PollStatus::Draft };
    let txn = db.begin().await?;
    let poll = polls::ActiveModel {
        slug: Set(new.slug.as_str().to_owned()),
        title: Set(new.title.clone()),
        description: Set(new.description.clone()),
        status: Set(status.as_str().to_owned()),
        results_visibility: Set(new.results_visibility.as_str().to_owned()),
        ack_mode: Set(new.ack.as_str().to_owned()),
        voter_identity: Set(new.voter_identity.as_str().to_owned()),
        pow_difficulty: Set(crate::domain::pow_to_column(new.pow)),
        opens_at: Set(new.opens_at),
        closes_at: Set(new.closes_at),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(0),
        webhook_url: Set(new.webhook_url.clone()),
        webhook_secret: Set(new.webhook_secret.clone()),
        receipts: Set(new.receipts),
        embed_origins: Set(origins_column(&new.embed_origins)),
        kind: Set(new.ballot.kind.as_str().to_owned()),
        min_choices: Set(i32::try_from(new.ballot.min).unwrap_or(1)),
        max_choices: Set(i32::try_from(new.ballot.max).unwrap_or(1)),
        language: Set(new.language.as_str().to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| if is_unique_violation(&e) { MutationError::SlugTaken } else { e.into() })?;
    insert_options_and_tracks(&txn, poll.id, &new.options, &new.tracks).await?;
    append_audit(
        &txn,
        actor,
        "poll.create",
        &format!("poll:{}", poll.id),
        serde_json::json!({ "slug": new.slug.as_str(), "title": new.title }),
    )
    .await?;
    txn.commit().await?;
    Ok(poll.id)
}

/// Applies a patch. Options and tracks can change only before a poll opens:
/// after that, ids already counted must stay meaningful.
pub async fn update_poll(
    db: &DatabaseConnection,
    id: i64,
    patch: &PollPatch,
    actor: &str,
) -> Result<(), MutationError> {
    let txn = db.begin().await?;
    let current = query::poll_by_id(&txn, id).await?.ok_or(MutationError::NotFound(id))?;
    let rule_changes = patch.kind.is_some() || patch.min_choices.is_some() || patch.max_choices.is_some();
    let structural = patch.options.is_some() || patch.tracks.is_some() || rule_changes;
    // Receipts too: a chain whose batches changed kind halfway would prove
    // less than it seems to.
    if (structural || patch.receipts.is_some()) && matches!(current.status, PollStatus::Open | PollStatus::Closed) {
        return Err(MutationError::BallotLocked);
    }
    if current.status == PollStatus::Closed && (patch.opens_at.is_some() || patch.closes_at.is_some()) {
        return Err(MutationError::ScheduleLocked);
    }
    let opens_at = patch.opens_at.unwrap_or(current.opens_at);
    let closes_at = patch.closes_at.unwrap_or(current.closes_at);
    crate::domain::validate_schedule(opens_at, closes_at).map_err(MutationError::Invalid)?;
    // A draft given an opening time becomes scheduled, and back.
    let status = match (current.status, opens_at) {
        (PollStatus::Draft, Some(_)) => PollStatus::Scheduled,
        (PollStatus::Scheduled, None) => PollStatus::Draft,
        (s, _) => s,
    };
    let mut am: polls::ActiveModel = polls::ActiveModel { id: Set(id), ..Default::default() };
    if let Some(t) = &patch.title {
        am.title = Set(t.clone());
    }
    if let Some(d) = &patch.description {
        am.description = Set(d.clone());
    }
    if let Some(v) = patch.results_visibility {
        am.results_visibility = Set(v.as_str().to_owned());
    }
    if let Some(a) = patch.ack {
        am.ack_mode = Set(a.as_str().to_owned());
    }
    if let Some(v) = patch.voter_identity {
        am.voter_identity = Set(v.as_str().to_owned());
    }
    if let Some(p) = patch.pow {
        am.pow_difficulty = Set(crate::domain::pow_to_column(p));
    }
    if let Some(w) = &patch.webhook_url {
        am.webhook_url = Set(w.clone());
    }
    if let Some(w) = &patch.webhook_secret {
        am.webhook_secret = Set(w.clone());
    }
    if let Some(r) = patch.receipts {
        am.receipts = Set(r);
    }
    if let Some(o) = &patch.embed_origins {
        am.embed_origins = Set(origins_column(o));
    }
    if let Some(l) = patch.language {
        am.language = Set(l.as_str().to_owned());
    }
    if rule_changes || patch.options.is_some() {
        // A new kind or new options start from the kind's defaults for
        // whatever limit the patch leaves out.
        let fresh = patch.kind.is_some() || patch.options.is_some();
        let keep = |v: u32| (!fresh).then_some(v);
        let rule = crate::domain::ballot_rule(
            patch.kind.unwrap_or(current.ballot.kind),
            patch.min_choices.or_else(|| keep(current.ballot.min)),
            patch.max_choices.or_else(|| keep(current.ballot.max)),
            patch.options.as_ref().map_or(current.options.len(), Vec::len),
        )
        .map_err(MutationError::Invalid)?;
        am.kind = Set(rule.kind.as_str().to_owned());
        am.min_choices = Set(i32::try_from(rule.min).unwrap_or(1));
        am.max_choices = Set(i32::try_from(rule.max).unwrap_or(1));
    }
    am.opens_at = Set(opens_at);
    am.closes_at = Set(closes_at);
    am.status = Set(status.as_str().to_owned());
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    bump_version(&txn, id).await?;
    if structural {
        let options = match &patch.options {
            Some(o) => o.clone(),
            None => current
                .options
                .iter()
                .map(|o| NewOption { label: o.label.clone(), image_url: o.image_url.clone() })
                .collect(),
        };
        let tracks = match &patch.tracks {
            Some(t) => t.clone(),
            None => current
                .tracks
                .iter()
                .map(|t| NewTrack { name: t.name.clone(), dedupe: t.dedupe, weight: t.weight })
                .collect(),
        };
        poll_options::Entity::delete_many().filter(poll_options::Column::PollId.eq(id)).exec(&txn).await?;
        tracks::Entity::delete_many().filter(tracks::Column::PollId.eq(id)).exec(&txn).await?;
        insert_options_and_tracks(&txn, id, &options, &tracks).await?;
    }
    append_audit(&txn, actor, "poll.update", &format!("poll:{id}"), patch_detail(patch)).await?;
    txn.commit().await?;
    Ok(())
}

fn patch_detail(p: &PollPatch) -> serde_json::Value {
    let mut fields = Vec::new();
    let mut note = |set: bool, name: &str| {
        if set {
            fields.push(name.to_owned());
        }
    };
    note(p.title.is_some(), "title");
    note(p.description.is_some(), "description");
    note(p.options.is_some(), "options");
    note(p.tracks.is_some(), "tracks");
    note(p.opens_at.is_some(), "opens_at");
    note(p.closes_at.is_some(), "closes_at");
    note(p.results_visibility.is_some(), "results_visibility");
    note(p.ack.is_some(), "ack");
    note(p.voter_identity.is_some(), "voter_identity");
    note(p.pow.is_some(), "pow");
    note(p.webhook_url.is_some(), "webhook_url");
    note(matches!(p.webhook_secret, Some(Some(_))), "webhook_secret");
    note(p.receipts.is_some(), "receipts");
    note(p.embed_origins.is_some(), "embed_origins");
    note(p.language.is_some(), "language");
    note(p.kind.is_some(), "kind");
    note(p.min_choices.is_some(), "min_choices");
    note(p.max_choices.is_some(), "max_choices");
    serde_json::json!({ "fields": fields })
}

/// `polls.embed_origins`: a JSON array, or null for none.
fn origins_column(origins: &[String]) -> Option<String> {
    (!origins.is_empty()).then(|| serde_json::Value::from(origins.to_vec()).to_string())
}

/// Deletes a poll that is not open, with everything counted for it.
pub async fn delete_poll(db: &DatabaseConnection, id: i64, actor: &str) -> Result<(), MutationError> {
    let txn = db.begin().await?;
    let poll = polls::Entity::find_by_id(id).one(&txn).await?.ok_or(MutationError::NotFound(id))?;
    if poll.status == PollStatus::Open.as_str() {
        return Err(MutationError::StillOpen);
    }
    // Explicit child deletes: SQLite's cascade depends on a per-connection pragma.
    for table in ["voter_marks", "batches", "counters", "ballots", "poll_options", "tracks"] {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("DELETE FROM ").push(table).push(" WHERE poll_id = ").bind(id);
        txn.execute_raw(sql.build()).await?;
    }
    polls::Entity::delete_by_id(id).exec(&txn).await?;
    append_audit(&txn, actor, "poll.delete", &format!("poll:{id}"), serde_json::json!({ "slug": poll.slug })).await?;
    txn.commit().await?;
    Ok(())
}

/// Opens a poll now. Opening is idempotent; a closed poll stays closed, since
/// reopening would count votes after a close that was announced.
pub async fn open_poll(db: &DatabaseConnection, id: i64, actor: &str) -> Result<(), MutationError> {
    let txn = db.begin().await?;
    let now = db_now(&txn).await?;
    let poll = query::poll_by_id(&txn, id).await?.ok_or(MutationError::NotFound(id))?;
    match poll.status {
        PollStatus::Open => return Ok(()),
        PollStatus::Closed => return Err(MutationError::CannotReopen),
        PollStatus::Draft | PollStatus::Scheduled => {}
    }
    if poll.closes_at.is_some_and(|c| c <= now) {
        return Err(MutationError::ClosesInPast);
    }
    let opens_at = match poll.opens_at {
        Some(o) if o <= now => o,
        _ => now,
    };
    polls::ActiveModel {
        id: Set(id),
        status: Set(PollStatus::Open.as_str().to_owned()),
        opens_at: Set(Some(opens_at)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    bump_version(&txn, id).await?;
    append_audit(&txn, actor, "poll.open", &format!("poll:{id}"), serde_json::json!({})).await?;
    txn.commit().await?;
    Ok(())
}

/// Closes a poll. On Postgres the UPDATE waits for every batch transaction
/// holding the poll row `FOR SHARE`, so each vote committed before the close
/// counts and none after it does.
pub async fn close_poll(db: &DatabaseConnection, id: i64, actor: &str) -> Result<(), MutationError> {
    let txn = db.begin().await?;
    let now = db_now(&txn).await?;
    let res = polls::Entity::update_many()
        .col_expr(polls::Column::Status, Expr::value(PollStatus::Closed.as_str()))
        .col_expr(polls::Column::ClosedAt, Expr::value(now))
        .col_expr(polls::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(polls::Column::Version, next_version())
        .filter(polls::Column::Id.eq(id))
        .filter(polls::Column::Status.ne(PollStatus::Closed.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        // Already closed is fine; missing is not.
        return match polls::Entity::find_by_id(id).one(&txn).await? {
            Some(_) => Ok(()),
            None => Err(MutationError::NotFound(id)),
        };
    }
    append_audit(&txn, actor, "poll.close", &format!("poll:{id}"), serde_json::json!({})).await?;
    txn.commit().await?;
    Ok(())
}

/// Why a reveal did not happen.
pub enum RevealRefused {
    NotClosed,
    AlreadyRevealed,
}

/// Reveals a closed poll's results at `at` (a moment just ahead, so that
/// every presenter screen learns of it in time to count up together).
/// Returns `Ok(Err(_))` when the poll's state forbids it.
pub async fn reveal_poll(
    db: &DatabaseConnection,
    id: i64,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<Result<(), RevealRefused>, MutationError> {
    let txn = db.begin().await?;
    let poll = polls::Entity::find_by_id(id).one(&txn).await?.ok_or(MutationError::NotFound(id))?;
    if poll.status != PollStatus::Closed.as_str() {
        return Ok(Err(RevealRefused::NotClosed));
    }
    if poll.revealed_at.is_some() {
        return Ok(Err(RevealRefused::AlreadyRevealed));
    }
    polls::Entity::update_many()
        .col_expr(polls::Column::RevealedAt, Expr::value(at))
        .col_expr(polls::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(polls::Column::Version, next_version())
        .filter(polls::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    append_audit(&txn, actor, "poll.reveal", &format!("poll:{id}"), serde_json::json!({ "at": at })).await?;
    txn.commit().await?;
    Ok(Ok(()))
}

/// Writes down schedule transitions that are due, by the database's clock.
/// Every instance runs this; the guarded UPDATE lets exactly one win each
/// transition, and that one writes the audit row. Returns the polls it changed.
pub async fn apply_schedules(db: &DatabaseConnection) -> Result<Vec<i64>, MutationError> {
    let candidates: Vec<PollDef> = query::all_polls(db)
        .await?
        .into_iter()
        .filter(|p| matches!(p.status, PollStatus::Scheduled | PollStatus::Open))
        .filter(|p| p.opens_at.is_some() || p.closes_at.is_some())
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let now = db_now(db).await?;
    let mut changed = Vec::new();
    for p in candidates {
        let (to, action) = match phase_of(p.status, p.opens_at, p.closes_at, now) {
            Phase::Closed => (PollStatus::Closed, "poll.close"),
            Phase::Open if p.status == PollStatus::Scheduled => (PollStatus::Open, "poll.open"),
            _ => continue,
        };
        let txn = db.begin().await?;
        let mut upd = polls::Entity::update_many()
            .col_expr(polls::Column::Status, Expr::value(to.as_str()))
            .col_expr(polls::Column::UpdatedAt, Expr::value(Utc::now()))
            .col_expr(polls::Column::Version, next_version())
            .filter(polls::Column::Id.eq(p.id))
            .filter(polls::Column::Status.eq(p.status.as_str()));
        if to == PollStatus::Closed {
            upd = upd.col_expr(polls::Column::ClosedAt, Expr::value(p.closes_at));
        }
        if upd.exec(&txn).await?.rows_affected == 1 {
            append_audit(&txn, "scheduler", action, &format!("poll:{}", p.id), serde_json::json!({ "by": "schedule" }))
                .await?;
            changed.push(p.id);
        }
        txn.commit().await?;
    }
    Ok(changed)
}

pub async fn create_admin(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: &str,
    role: &str,
) -> Result<i64, MutationError> {
    Ok(create_admin_in(db, username, password_hash, role, "cli").await?.id)
}

/// A new admin and its audit row, by `actor` (`cli`, or `setup` for the
/// first-run link).
pub async fn create_admin_in(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: &str,
    role: &str,
    actor: &str,
) -> Result<admins::Model, MutationError> {
    let admin = admins::ActiveModel {
        username: Set(username.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        role: Set(role.to_owned()),
        created_at: Set(Utc::now()),
        totp_secret: Set(None),
        totp_pending: Set(None),
        totp_last_step: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| if is_unique_violation(&e) { MutationError::UsernameTaken } else { e.into() })?;
    append_audit(
        db,
        actor,
        "admin.create",
        &format!("admin:{}", admin.id),
        serde_json::json!({ "username": username, "role": role }),
    )
    .await?;
    Ok(admin)
}

/// Returns the stored secret `name`, storing `candidate` first if there is
/// none: every instance on one database ends up with the same value.
pub async fn ensure_secret(db: &impl ConnectionTrait, name: &str, candidate: &str) -> anyhow::Result<String> {
    app_secrets::Entity::insert(app_secrets::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(candidate.to_owned()),
    })
    .on_conflict_do_nothing_on([app_secrets::Column::Name])
    .exec(db)
    .await?;
    query::secret(db, name).await?.ok_or_else(|| anyhow::anyhow!("secret {name} vanished after insert"))
}

/// Stores the keyed hashes of new invite codes for a poll, and audits it.
/// The codes themselves are never stored.
pub async fn create_invites(
    db: &DatabaseConnection,
    poll_id: i64,
    hashes: &[[u8; 32]],
    actor: &str,
) -> Result<(), MutationError> {
    let txn = db.begin().await?;
    polls::Entity::find_by_id(poll_id).one(&txn).await?.ok_or(MutationError::NotFound(poll_id))?;
    let now = Utc::now();
    for chunk in hashes.chunks(500) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("INSERT INTO invites (poll_id, code_hash, created_at) VALUES ");
        for (n, h) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .bind(poll_id)
                .push(", ")
                .bind(h.to_vec())
                .push(", ")
                .bind(now)
                .push(")");
        }
        txn.execute_raw(sql.build()).await?;
    }
    append_audit(&txn, actor, "poll.invites", &format!("poll:{poll_id}"), serde_json::json!({ "count": hashes.len() }))
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Forgets what no longer needs remembering: spent proof-of-work
/// challenges past their expiry (they cannot be spent again anyway), and
/// client idempotency keys of polls closed more than `keep_keys` ago.
/// Returns how many rows went.
pub async fn sweep_vote_guards(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    keep_keys: chrono::Duration,
) -> Result<u64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("DELETE FROM pow_spent WHERE expires_at < ").bind(now);
    let spent = db.execute_raw(sql.build()).await?.rows_affected();
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("DELETE FROM idempotency_keys WHERE poll_id IN (SELECT id FROM polls WHERE closed_at < ")
        .bind(now - keep_keys)
        .push(")");
    let keys = db.execute_raw(sql.build()).await?.rows_affected();
    Ok(spent + keys)
}
