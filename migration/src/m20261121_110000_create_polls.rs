use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Polls::Table)
                    .col(big_pk_auto(Polls::Id))
                    .col(string_uniq(Polls::Slug))
                    .col(string(Polls::Title))
                    .col(text(Polls::Description).default(""))
                    .col(string(Polls::Status))
                    .col(string(Polls::ResultsVisibility))
                    .col(string(Polls::AckMode))
                    .col(string(Polls::VoterIdentity))
                    .col(integer(Polls::PowDifficulty).default(0))
                    .col(timestamp_with_time_zone_null(Polls::OpensAt))
                    .col(timestamp_with_time_zone_null(Polls::ClosesAt))
                    .col(timestamp_with_time_zone_null(Polls::ClosedAt))
                    .col(timestamp_with_time_zone(Polls::CreatedAt))
                    .col(timestamp_with_time_zone(Polls::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_polls_updated_at").table(Polls::Table).col(Polls::UpdatedAt).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PollOptions::Table)
                    .col(big_pk_auto(PollOptions::Id))
                    .col(big_integer(PollOptions::PollId))
                    .col(string(PollOptions::Label))
                    .col(string_null(PollOptions::ImageUrl))
                    .col(integer(PollOptions::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PollOptions::Table, PollOptions::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tracks::Table)
                    .col(big_pk_auto(Tracks::Id))
                    .col(big_integer(Tracks::PollId))
                    .col(string(Tracks::Name))
                    .col(string(Tracks::Dedupe))
                    .col(integer(Tracks::Weight))
                    .col(integer(Tracks::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tracks::Table, Tracks::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, table, col) in [
            ("idx_poll_options_poll", PollOptions::Table.into_iden(), PollOptions::PollId.into_iden()),
            ("idx_tracks_poll", Tracks::Table.into_iden(), Tracks::PollId.into_iden()),
        ] {
            manager.create_index(Index::create().name(name).table(table).col(col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Tracks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(PollOptions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Polls::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Polls {
    Table,
    Id,
    Slug,
    Title,
    Description,
    Status,
    ResultsVisibility,
    AckMode,
    VoterIdentity,
    PowDifficulty,
    OpensAt,
    ClosesAt,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum PollOptions {
    Table,
    Id,
    PollId,
    Label,
    ImageUrl,
    Position,
}

#[derive(DeriveIden)]
pub enum Tracks {
    Table,
    Id,
    PollId,
    Name,
    Dedupe,
    Weight,
    Position,
}
