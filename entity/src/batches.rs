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
    /// Its place in its poll and shard's hash chain (`api::ledger`); none
    /// for batches from before the chains.
    pub chain_seq: Option<i64>,
    pub prev_hash: Option<Vec<u8>>,
    pub root: Option<Vec<u8>>,
    pub size: Option<i64>,
    pub salt: Option<Vec<u8>>,
    pub entry_hash: Option<Vec<u8>>,
}

impl ActiveModelBehavior for ActiveModel {}
