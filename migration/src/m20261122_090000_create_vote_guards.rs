use sea_orm_migration::{prelude::*, schema::*};

use super::m20261121_110000_create_polls::Polls;

/// What tells people from scripts and retries from new votes, each decided
/// in the batch transaction like a voter mark:
/// - `pow_spent`: proof-of-work challenges already used, kept until they
///   expire (a challenge is worthless after that anyway);
/// - `idempotency_keys`: the first answer to each client key, per poll;
/// - `invites`: single-use invite codes, stored as keyed hashes only.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PowSpent::Table)
                    .col(big_integer(PowSpent::PollId))
                    .col(blob(PowSpent::ChallengeHash))
                    .col(timestamp_with_time_zone(PowSpent::ExpiresAt))
                    .primary_key(Index::create().col(PowSpent::PollId).col(PowSpent::ChallengeHash))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PowSpent::Table, PowSpent::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pow_spent_expires")
                    .table(PowSpent::Table)
                    .col(PowSpent::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(big_integer(IdempotencyKeys::PollId))
                    .col(string(IdempotencyKeys::Key))
                    .col(blob(IdempotencyKeys::RequestHash))
                    .col(integer(IdempotencyKeys::Status))
                    .col(text(IdempotencyKeys::Answer))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::PollId).col(IdempotencyKeys::Key))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdempotencyKeys::Table, IdempotencyKeys::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invites::Table)
                    .col(big_integer(Invites::PollId))
                    .col(blob(Invites::CodeHash))
                    .col(timestamp_with_time_zone(Invites::CreatedAt))
                    .col(timestamp_with_time_zone_null(Invites::UsedAt))
                    .primary_key(Index::create().col(Invites::PollId).col(Invites::CodeHash))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invites::Table, Invites::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Invites::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(PowSpent::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum PowSpent {
    Table,
    PollId,
    ChallengeHash,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    PollId,
    Key,
    RequestHash,
    Status,
    Answer,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    PollId,
    CodeHash,
    CreatedAt,
    UsedAt,
}
