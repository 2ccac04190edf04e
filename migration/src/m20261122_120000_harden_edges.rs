use sea_orm_migration::{prelude::*, schema::*};

/// Hardened edges. Admin accounts:
/// - `admins.totp_secret`: the base32 TOTP secret once two-step login is on;
///   `totp_pending`: a secret shown to the admin and not confirmed yet;
///   `totp_last_step`: the last 30 s step whose code was accepted, so that a
///   code cannot be replayed;
/// - `sessions.last_seen_at`: when the session was last used (idle expiry);
/// - `login_throttle`: failed logins per key (a hash of the client's IP or
///   of the username) in a 15-minute window that starts at the first one.
///
/// Webhooks: `polls.webhook_secret`, the `whsec_…` key each delivery is
/// signed with (Standard Webhooks).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in
            [string_null(Admins::TotpSecret), string_null(Admins::TotpPending), big_integer_null(Admins::TotpLastStep)]
        {
            manager.alter_table(Table::alter().table(Admins::Table).add_column(col).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(timestamp_with_time_zone_null(Sessions::LastSeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Polls::Table).add_column(string_null(Polls::WebhookSecret)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string(LoginThrottle::Key).primary_key())
                    .col(integer(LoginThrottle::Failures))
                    .col(timestamp_with_time_zone(LoginThrottle::WindowStart))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginThrottle::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(Polls::WebhookSecret).to_owned()).await?;
        manager.alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::LastSeenAt).to_owned()).await?;
        for col in [Admins::TotpLastStep, Admins::TotpPending, Admins::TotpSecret] {
            manager.alter_table(Table::alter().table(Admins::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    TotpSecret,
    TotpPending,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStart,
}

#[derive(DeriveIden)]
enum Polls {
    Table,
    WebhookSecret,
}
