use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ballots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub poll_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub track_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: String,
    /// The canonical ballot's option ids, comma-separated.
    #[sea_orm(primary_key, auto_increment = false)]
    pub choices: String,
    pub votes: i64,
}

impl ActiveModelBehavior for ActiveModel {}
