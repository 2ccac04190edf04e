use sea_orm_migration::{prelude::*, schema::*};

/// `polls.language`: the language of a poll's pages (`pt-BR` or `en`).
/// The URL, not the reader's cookie or `Accept-Language`, then decides a
/// page's bytes (`?lang=` asks for the other language), so a shared cache
/// can keep one copy per URL. Existing polls get `pt-BR`, the language
/// pages fell back to before.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(string(Polls::Language).default("pt-BR")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(Polls::Language).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Polls {
    Table,
    Language,
}
