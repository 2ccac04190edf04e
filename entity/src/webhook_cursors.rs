use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub poll_id: i64,
    pub last_batch_id: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
