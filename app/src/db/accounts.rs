//! Admin accounts: sessions with idle and absolute expiry, passwords,
//! two-step login secrets, and the failed-login counts that throttle logins.
//! Each change that ends access (a new password, a reset) ends sessions in
//! the same transaction, with its audit row.
use chrono::{DateTime, Duration, Utc};
use entity::{admins, login_throttle, sessions};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait,
    QueryFilter, Set, TransactionTrait,
};

use super::mutation::append_audit;

/// A session is used at most this often recorded as used: the idle clock
/// needs minutes, not every request's write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

pub async fn admin_by_username(db: &impl ConnectionTrait, username: &str) -> Result<Option<admins::Model>, DbErr> {
    admins::Entity::find().filter(admins::Column::Username.eq(username)).one(db).await
}

pub async fn admin_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<admins::Model>, DbErr> {
    admins::Entity::find_by_id(id).one(db).await
}

/// The session with this token hash and its admin, unless it has expired:
/// past its absolute expiry, or unused for `idle`. A session last used
/// more than a minute ago is marked used now.
pub async fn live_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<Option<(sessions::Model, admins::Model)>, DbErr> {
    let Some(s) = sessions::Entity::find_by_id(token_hash.to_owned())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .filter(last_used_after(now - idle))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if s.last_seen_at.unwrap_or(s.created_at) < now - TOUCH_EVERY {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .exec(db)
            .await?;
    }
    Ok(admins::Entity::find_by_id(s.admin_id).one(db).await?.map(|a| (s, a)))
}

/// Sessions used after `cut` (a session never used counts from its login).
fn last_used_after(cut: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(sessions::Column::LastSeenAt.gt(cut))
        .add(Condition::all().add(sessions::Column::LastSeenAt.is_null()).add(sessions::Column::CreatedAt.gt(cut)))
}

pub async fn create_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
    admin_id: i64,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    sessions::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        admin_id: Set(admin_id),
        csrf_token: Set(csrf_token.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        last_seen_at: Set(Some(now)),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn delete_session(db: &impl ConnectionTrait, token_hash: &str) -> Result<(), DbErr> {
    sessions::Entity::delete_by_id(token_hash.to_owned()).exec(db).await.map(|_| ())
}

/// Deletes sessions past their absolute expiry or idle for longer than `idle`.
pub async fn delete_expired_sessions(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<u64, DbErr> {
    Ok(sessions::Entity::delete_many()
        .filter(Condition::any().add(sessions::Column::ExpiresAt.lte(now)).add(last_used_after(now - idle).not()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Sets a new password hash and ends every other session of this admin
/// (all of them when `keep` is `None`), with its audit row.
pub async fn set_password(
    db: &DatabaseConnection,
    admin: &admins::Model,
    password_hash: &str,
    keep: Option<&str>,
    actor: &str,
    action: &str,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    admins::Entity::update_many()
        .col_expr(admins::Column::PasswordHash, Expr::value(password_hash))
        .filter(admins::Column::Id.eq(admin.id))
        .exec(&txn)
        .await?;
    let mut others = sessions::Entity::delete_many().filter(sessions::Column::AdminId.eq(admin.id));
    if let Some(keep) = keep {
        others = others.filter(sessions::Column::TokenHash.ne(keep));
    }
    let ended = others.exec(&txn).await?.rows_affected;
    append_audit(
        &txn,
        actor,
        action,
        &format!("admin:{}", admin.id),
        serde_json::json!({ "username": admin.username, "sessions_ended": ended }),
    )
    .await?;
    txn.commit().await
}

/// An operator's reset: a new password, two-step login off, every session
/// ended and the username's failed logins forgotten.
pub async fn reset_admin(
    db: &DatabaseConnection,
    admin: &admins::Model,
    password_hash: &str,
    throttle_key: &str,
) -> Result<u64, DbErr> {
    let txn = db.begin().await?;
    admins::Entity::update_many()
        .col_expr(admins::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(admins::Column::TotpSecret, Expr::value(Option::<String>::None))
        .col_expr(admins::Column::TotpPending, Expr::value(Option::<String>::None))
        .col_expr(admins::Column::TotpLastStep, Expr::value(Option::<i64>::None))
        .filter(admins::Column::Id.eq(admin.id))
        .exec(&txn)
        .await?;
    let ended =
        sessions::Entity::delete_many().filter(sessions::Column::AdminId.eq(admin.id)).exec(&txn).await?.rows_affected;
    login_throttle::Entity::delete_by_id(throttle_key.to_owned()).exec(&txn).await?;
    append_audit(
        &txn,
        "cli",
        "admin.reset",
        &format!("admin:{}", admin.id),
        serde_json::json!({ "username": admin.username, "sessions_ended": ended, "totp_was_on": admin.totp_secret.is_some() }),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Where two-step login stands for an admin.
pub enum TotpChange<'a> {
    /// A new secret shown to the admin, not confirmed yet.
    Pending(&'a str),
    /// The pending secret confirmed by a code of time step `step`.
    Enable {
        secret: &'a str,
        step: i64,
    },
    Disable,
}

pub async fn change_totp(
    db: &DatabaseConnection,
    admin: &admins::Model,
    change: TotpChange<'_>,
    actor: &str,
) -> Result<(), DbErr> {
    let none = Option::<String>::None;
    let (action, secret, pending, step) = match change {
        TotpChange::Pending(p) => ("admin.totp_setup", admin.totp_secret.clone(), Some(p.to_owned()), None),
        TotpChange::Enable { secret, step } => ("admin.totp_enable", Some(secret.to_owned()), none, Some(step)),
        TotpChange::Disable => ("admin.totp_disable", None, None, None),
    };
    let txn = db.begin().await?;
    admins::Entity::update_many()
        .col_expr(admins::Column::TotpSecret, Expr::value(secret))
        .col_expr(admins::Column::TotpPending, Expr::value(pending))
        .col_expr(admins::Column::TotpLastStep, Expr::value(step))
        .filter(admins::Column::Id.eq(admin.id))
        .exec(&txn)
        .await?;
    append_audit(
        &txn,
        actor,
        action,
        &format!("admin:{}", admin.id),
        serde_json::json!({ "username": admin.username }),
    )
    .await?;
    txn.commit().await
}

/// Records that a one-time code of time step `step` was used, unless one of
/// this step or a later one was: true when this use is the first. One
/// conditional update, so two instances cannot both accept a code.
pub async fn spend_totp_step(db: &impl ConnectionTrait, admin_id: i64, step: i64) -> Result<bool, DbErr> {
    let res = admins::Entity::update_many()
        .col_expr(admins::Column::TotpLastStep, Expr::value(step))
        .filter(admins::Column::Id.eq(admin_id))
        .filter(admins::Column::TotpSecret.is_not_null())
        .filter(Condition::any().add(admins::Column::TotpLastStep.is_null()).add(admins::Column::TotpLastStep.lt(step)))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Failed logins per throttle key within the window that started at `cut`
/// or later.
pub async fn login_failures(
    db: &impl ConnectionTrait,
    keys: &[String],
    cut: DateTime<Utc>,
) -> Result<Vec<login_throttle::Model>, DbErr> {
    login_throttle::Entity::find()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .filter(login_throttle::Column::WindowStart.gt(cut))
        .all(db)
        .await
}

/// Counts one failed login against each key: a key whose window started
/// before `cut` starts a new one at `now`. Returns the keys' rows as they
/// now stand.
pub async fn record_login_failure(
    db: &impl ConnectionTrait,
    keys: &[String],
    now: DateTime<Utc>,
    cut: DateTime<Utc>,
) -> Result<Vec<login_throttle::Model>, DbErr> {
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .filter(login_throttle::Column::WindowStart.lte(cut))
        .exec(db)
        .await?;
    let rows = keys.iter().map(|k| login_throttle::ActiveModel {
        key: Set(k.clone()),
        failures: Set(1),
        window_start: Set(now),
    });
    login_throttle::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .value(
                    login_throttle::Column::Failures,
                    Expr::col((login_throttle::Entity, login_throttle::Column::Failures)).add(1),
                )
                .to_owned(),
        )
        .exec_with_returning(db)
        .await
}

pub async fn clear_login_failures(db: &impl ConnectionTrait, keys: &[String]) -> Result<(), DbErr> {
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Forgets windows that started before `cut`.
pub async fn delete_stale_login_failures(db: &impl ConnectionTrait, cut: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lte(cut))
        .exec(db)
        .await?
        .rows_affected)
}
