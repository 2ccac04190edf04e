use sea_orm_migration::{prelude::*, schema::*};

use super::m20261121_110000_create_polls::Polls;

/// A counter bumped by every change to a poll, so that instances can tell a
/// newer definition from an older one regardless of clocks.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(big_integer(PollsVersion::Version).default(0)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(PollsVersion::Version).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum PollsVersion {
    Version,
}
