use sea_orm_migration::{prelude::*, schema::*};

/// Ways into the admin other than a login:
/// - `api_tokens`: named bearer tokens with a role and an expiry, for a
///   host's own systems. Only a SHA-256 of the token is stored (the token
///   has 256 random bits, so a fast hash is enough); a revoked token keeps
///   its row, for the audit log's sake.
/// - `setup_tokens`: the one-time links `urna serve` prints while no admin
///   exists, hashed, each valid for an hour.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(big_pk_auto(ApiTokens::Id))
                    .col(string(ApiTokens::Name))
                    .col(string(ApiTokens::Role))
                    .col(string_uniq(ApiTokens::TokenHash))
                    .col(string(ApiTokens::CreatedBy))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SetupTokens::Table)
                    .col(string(SetupTokens::TokenHash).primary_key())
                    .col(timestamp_with_time_zone(SetupTokens::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SetupTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiTokens::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    Role,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SetupTokens {
    Table,
    TokenHash,
    ExpiresAt,
}
