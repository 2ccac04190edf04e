use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub admin_id: i64,
    pub csrf_token: String,
    pub created_at: DateTimeUtc,
    /// Absolute expiry, set at login.
    pub expires_at: DateTimeUtc,
    pub last_seen_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
