use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "polls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub status: String,
    pub results_visibility: String,
    pub ack_mode: String,
    pub voter_identity: String,
    pub pow_difficulty: i32,
    pub opens_at: Option<DateTimeUtc>,
    pub closes_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Bumped by every change; newer definitions win in every instance.
    pub version: i64,
    pub webhook_url: Option<String>,
    /// `whsec_…`: the key deliveries are signed with.
    pub webhook_secret: Option<String>,
    /// Whether a recorded vote's answer carries a receipt.
    pub receipts: bool,
    /// A JSON array of the origins allowed to frame this poll's pages.
    #[sea_orm(column_type = "Text", nullable)]
    pub embed_origins: Option<String>,
    /// When the hidden results are shown on the presenter screens.
    pub revealed_at: Option<DateTimeUtc>,
    /// `single`, `multiple` or `ranked`.
    pub kind: String,
    /// The fewest and most options a ballot names.
    pub min_choices: i32,
    pub max_choices: i32,
    /// The pages' language: `pt-BR` or `en`.
    pub language: String,
    #[sea_orm(has_many)]
    pub options: HasMany<super::poll_options::Entity>,
    #[sea_orm(has_many)]
    pub tracks: HasMany<super::tracks::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
