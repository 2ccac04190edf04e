//! The webhook export's bookkeeping: per-poll leases (one instance exports a
//! poll at a time) and cursors into the batch ledger.
use chrono::{DateTime, Utc};
use entity::{batches, polls, webhook_cursors};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

/// Takes or renews the export lease of a poll for `owner` until `until`;
/// returns the cursor (last batch id delivered) when the lease is ours.
pub async fn lease(
    db: &impl ConnectionTrait,
    poll_id: i64,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    webhook_cursors::Entity::insert(webhook_cursors::ActiveModel {
        poll_id: Set(poll_id),
        last_batch_id: Set(0),
        lease_owner: Set(None),
        lease_until: Set(None),
    })
    .on_conflict_do_nothing_on([webhook_cursors::Column::PollId])
    .exec(db)
    .await?;
    let taken = webhook_cursors::Entity::update_many()
        .col_expr(webhook_cursors::Column::LeaseOwner, Expr::value(owner))
        .col_expr(webhook_cursors::Column::LeaseUntil, Expr::value(until))
        .filter(webhook_cursors::Column::PollId.eq(poll_id))
        .filter(
            webhook_cursors::Column::LeaseOwner
                .eq(owner)
                .or(webhook_cursors::Column::LeaseOwner.is_null())
                .or(webhook_cursors::Column::LeaseUntil.lt(now)),
        )
        .exec(db)
        .await?;
    if taken.rows_affected == 0 {
        return Ok(None);
    }
    Ok(webhook_cursors::Entity::find_by_id(poll_id).one(db).await?.map(|c| c.last_batch_id))
}

/// The next committed batches of a poll after `after`, oldest first.
pub async fn batches_after(
    db: &impl ConnectionTrait,
    poll_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<batches::Model>, DbErr> {
    batches::Entity::find()
        .filter(batches::Column::PollId.eq(poll_id))
        .filter(batches::Column::Id.gt(after))
        .order_by_asc(batches::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Moves the cursor after a delivery, if `owner` still holds the lease.
pub async fn advance(db: &impl ConnectionTrait, poll_id: i64, owner: &str, batch_id: i64) -> Result<(), DbErr> {
    webhook_cursors::Entity::update_many()
        .col_expr(webhook_cursors::Column::LastBatchId, Expr::value(batch_id))
        .filter(webhook_cursors::Column::PollId.eq(poll_id))
        .filter(webhook_cursors::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await
        .map(|_| ())
}

/// The key a poll's deliveries are signed with, if it has one.
pub async fn signing_secret(db: &impl ConnectionTrait, poll_id: i64) -> Result<Option<String>, DbErr> {
    let secret: Option<Option<String>> = polls::Entity::find_by_id(poll_id)
        .select_only()
        .column(polls::Column::WebhookSecret)
        .into_tuple()
        .one(db)
        .await?;
    Ok(secret.flatten())
}
