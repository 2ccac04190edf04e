use sea_orm_migration::{prelude::*, schema::*};

use super::m20261121_110000_create_polls::Polls;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per (poll, option, track, shard); a shard belongs to one
        // instance, so instances never wait on each other's row locks.
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(big_integer(Counters::PollId))
                    .col(big_integer(Counters::OptionId))
                    .col(big_integer(Counters::TrackId))
                    .col(string(Counters::Shard))
                    .col(big_integer(Counters::Votes).default(0))
                    .primary_key(
                        Index::create()
                            .col(Counters::PollId)
                            .col(Counters::OptionId)
                            .col(Counters::TrackId)
                            .col(Counters::Shard),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Counters::Table, Counters::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The ledger: one row per committed batch. Its idempotency key makes a
        // retried flush a no-op, and `outcome` lets a retry learn what the
        // first attempt decided.
        manager
            .create_table(
                Table::create()
                    .table(Batches::Table)
                    .col(big_pk_auto(Batches::Id))
                    .col(string_uniq(Batches::IdemKey))
                    .col(big_integer(Batches::PollId))
                    .col(string(Batches::Shard))
                    .col(big_integer(Batches::Votes))
                    .col(text(Batches::Outcome))
                    .col(timestamp_with_time_zone(Batches::CommittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Batches::Table, Batches::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_batches_poll_committed")
                    .table(Batches::Table)
                    .col(Batches::PollId)
                    .col(Batches::CommittedAt)
                    .to_owned(),
            )
            .await?;
        // Keyed hashes of voters on one-per-voter tracks; the primary key is
        // what makes "exactly one counts" hold under any concurrency.
        manager
            .create_table(
                Table::create()
                    .table(VoterMarks::Table)
                    .col(big_integer(VoterMarks::PollId))
                    .col(big_integer(VoterMarks::TrackId))
                    .col(blob(VoterMarks::VoterHash))
                    .primary_key(
                        Index::create().col(VoterMarks::PollId).col(VoterMarks::TrackId).col(VoterMarks::VoterHash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoterMarks::Table, VoterMarks::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(VoterMarks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Batches::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Counters::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    PollId,
    OptionId,
    TrackId,
    Shard,
    Votes,
}

#[derive(DeriveIden)]
enum Batches {
    Table,
    Id,
    IdemKey,
    PollId,
    Shard,
    Votes,
    Outcome,
    CommittedAt,
}

#[derive(DeriveIden)]
enum VoterMarks {
    Table,
    PollId,
    TrackId,
    VoterHash,
}
