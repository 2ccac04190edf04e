use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tracks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub poll_id: i64,
    pub name: String,
    pub dedupe: String,
    pub weight: i32,
    pub position: i32,
    #[sea_orm(belongs_to, from = "poll_id", to = "id")]
    pub poll: BelongsTo<super::polls::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
