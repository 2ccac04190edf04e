use sea_orm_migration::{prelude::*, schema::*};

/// `polls.embed_origins`: the sites allowed to frame this poll's pages (a
/// JSON array of origins; null or empty: the server's `--frame-ancestors`).
/// `polls.revealed_at`: the moment an admin's reveal shows a closed poll's
/// hidden results on every presenter screen (and to everyone from then on).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Polls::Table).add_column(text_null(Polls::EmbedOrigins)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Polls::Table)
                    .add_column(timestamp_with_time_zone_null(Polls::RevealedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(Polls::RevealedAt).to_owned()).await?;
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(Polls::EmbedOrigins).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Polls {
    Table,
    EmbedOrigins,
    RevealedAt,
}
