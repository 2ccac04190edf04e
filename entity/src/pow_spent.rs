use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pow_spent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub poll_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub challenge_hash: Vec<u8>,
    pub expires_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
