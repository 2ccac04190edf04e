//! Admin API tokens and first-run setup links. Only hashes of either are
//! stored. Each change writes its audit row in the same transaction.
use chrono::{DateTime, Duration, Utc};
use entity::{admins, api_tokens, app_secrets, setup_tokens};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::mutation::{MutationError, append_audit, create_admin_in};

/// A token's last use is recorded at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// What a new token is.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_token(db: &DatabaseConnection, new: NewToken<'_>, actor: &str) -> Result<api_tokens::Model, DbErr> {
    let txn = db.begin().await?;
    let token = api_tokens::ActiveModel {
        name: Set(new.name.to_owned()),
        role: Set(new.role.to_owned()),
        token_hash: Set(new.token_hash.to_owned()),
        created_by: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    append_audit(
        &txn,
        actor,
        "token.create",
        &format!("token:{}", token.id),
        serde_json::json!({ "name": token.name, "role": token.role, "expires_at": token.expires_at }),
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}

/// Every token, newest first, revoked and expired ones included.
pub async fn list_tokens(db: &impl ConnectionTrait) -> Result<Vec<api_tokens::Model>, DbErr> {
    api_tokens::Entity::find().order_by_desc(api_tokens::Column::Id).all(db).await
}

/// Revokes a token; false when there is none with this id or it was
/// revoked already.
pub async fn revoke_token(db: &DatabaseConnection, id: i64, actor: &str) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let Some(token) = api_tokens::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(false);
    };
    let res = api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_tokens::Column::Id.eq(id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    append_audit(&txn, actor, "token.revoke", &format!("token:{id}"), serde_json::json!({ "name": token.name }))
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// The token with this hash unless it is revoked or expired. A token last
/// used more than a minute ago is marked used now.
pub async fn live_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<api_tokens::Model>, DbErr> {
    let Some(token) = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(token_hash))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .filter(api_tokens::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if token.last_used_at.is_none_or(|at| at < now - TOUCH_EVERY) {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    Ok(Some(token))
}

pub async fn any_admin(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(admins::Entity::find().count(db).await? > 0)
}

/// Stores a first-run setup link's token hash, valid until `expires_at`,
/// and forgets the links that have expired (each start without an admin
/// prints one).
pub async fn create_setup_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    setup_tokens::Entity::delete_many().filter(setup_tokens::Column::ExpiresAt.lte(Utc::now())).exec(db).await?;
    setup_tokens::ActiveModel { token_hash: Set(token_hash.to_owned()), expires_at: Set(expires_at) }
        .insert(db)
        .await
        .map(|_| ())
}

/// Whether a setup link can still be used: it is stored, not expired, and
/// no admin exists yet.
pub async fn setup_token_valid(db: &impl ConnectionTrait, token_hash: &str, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let found = setup_tokens::Entity::find_by_id(token_hash.to_owned())
        .filter(setup_tokens::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .is_some();
    Ok(found && !any_admin(db).await?)
}

/// Why a setup link made no admin.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("this setup link is used, expired or unknown")]
    LinkInvalid,
    #[error(transparent)]
    Mutation(#[from] MutationError),
}

impl From<DbErr> for SetupError {
    fn from(e: DbErr) -> Self {
        SetupError::Mutation(e.into())
    }
}

/// The first admin, from a setup link: the link is spent, every other link
/// forgotten and the admin created in one transaction. A row in
/// `app_secrets` that only one transaction can insert makes two links used
/// at the same moment (two instances printed one each) create one admin.
pub async fn setup_first_admin(
    db: &DatabaseConnection,
    token_hash: &str,
    now: DateTime<Utc>,
    username: &str,
    password_hash: &str,
) -> Result<admins::Model, SetupError> {
    let txn = db.begin().await?;
    let spent = setup_tokens::Entity::delete_many()
        .filter(setup_tokens::Column::TokenHash.eq(token_hash))
        .filter(setup_tokens::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?
        .rows_affected;
    if spent == 0 || any_admin(&txn).await? {
        return Err(SetupError::LinkInvalid);
    }
    let guard = app_secrets::ActiveModel { name: Set("first-admin".into()), value: Set(now.to_rfc3339()) };
    if guard.insert(&txn).await.is_err() {
        return Err(SetupError::LinkInvalid);
    }
    setup_tokens::Entity::delete_many().exec(&txn).await?;
    let admin = create_admin_in(&txn, username, password_hash, "admin", "setup").await?;
    txn.commit().await?;
    Ok(admin)
}
