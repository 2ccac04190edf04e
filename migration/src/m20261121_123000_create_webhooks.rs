use sea_orm_migration::{prelude::*, schema::*};

use super::m20261121_110000_create_polls::Polls;

/// Per-poll webhook: where committed batches are exported, and how far the
/// export got (a cursor into the batch ledger) under whose lease.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(string_null(PollsWebhook::WebhookUrl)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookCursors::Table)
                    .col(big_integer(WebhookCursors::PollId).primary_key())
                    .col(big_integer(WebhookCursors::LastBatchId).default(0))
                    .col(string_null(WebhookCursors::LeaseOwner))
                    .col(timestamp_with_time_zone_null(WebhookCursors::LeaseUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookCursors::Table, WebhookCursors::PollId)
                            .to(Polls::Table, Polls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookCursors::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(PollsWebhook::WebhookUrl).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum PollsWebhook {
    WebhookUrl,
}

#[derive(DeriveIden)]
enum WebhookCursors {
    Table,
    PollId,
    LastBatchId,
    LeaseOwner,
    LeaseUntil,
}
