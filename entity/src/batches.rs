use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub idem_key: String,
    pub poll_id: i64,
    pub shard: String,
    pub votes: i64,
    #[sea_orm(column_type = "Text")]
    pub outcome: String,
    pub committed_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
