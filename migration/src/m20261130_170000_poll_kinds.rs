use sea_orm_migration::{prelude::*, schema::*};

use super::m20261121_110000_create_polls::Polls as PollsTable;

/// Poll kinds: `polls.kind` (`single`, `multiple`, `ranked`) with the
/// fewest and most options a ballot names (`min_choices`, `max_choices`),
/// and `ballots`, each distinct ballot of a `multiple` or `ranked` poll
/// with how many times this shard counted it, so a ranked poll's storage
/// grows with the rankings people choose, not with the ballots cast.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(string(Polls::Kind).default("single")).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(integer(Polls::MinChoices).default(1)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(integer(Polls::MaxChoices).default(1)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Ballots::Table)
                    .col(big_integer(Ballots::PollId))
                    .col(big_integer(Ballots::TrackId))
                    .col(string(Ballots::Shard))
                    // The canonical ballot's option ids, comma-separated.
                    .col(string(Ballots::Choices))
                    .col(big_integer(Ballots::Votes).default(0))
                    .primary_key(
                        Index::create()
                            .col(Ballots::PollId)
                            .col(Ballots::TrackId)
                            .col(Ballots::Shard)
                            .col(Ballots::Choices),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ballots::Table, Ballots::PollId)
                            .to(PollsTable::Table, PollsTable::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Ballots::Table).to_owned()).await?;
        for column in [Polls::MaxChoices, Polls::MinChoices, Polls::Kind] {
            manager.alter_table(Table::alter().table(Polls::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Polls {
    Table,
    Kind,
    MinChoices,
    MaxChoices,
}

#[derive(DeriveIden)]
enum Ballots {
    Table,
    PollId,
    TrackId,
    Shard,
    Choices,
    Votes,
}
