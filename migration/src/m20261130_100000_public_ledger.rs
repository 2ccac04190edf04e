use sea_orm_migration::{prelude::*, schema::*};

/// The public ledger (`api::ledger` gives the exact format):
/// - `polls.receipts`: whether a recorded vote's answer carries a receipt
///   (new polls default to yes; polls from before this migration had none);
/// - on each `batches` row, its entry in its poll and shard's hash chain:
///   `chain_seq` (1, 2, … per poll and shard, unique), `prev_hash`, `root`
///   (the Merkle root of the batch's counted votes), `size` (its leaves),
///   `salt` (of the commitment shown while results are hidden) and
///   `entry_hash`. Batches committed before this migration have none and
///   stay outside the chains.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Polls::Table).add_column(boolean(Polls::Receipts).default(false)).to_owned(),
            )
            .await?;
        // SQLite takes one column per ALTER TABLE.
        for col in [
            big_integer_null(Batches::ChainSeq),
            blob_null(Batches::PrevHash),
            blob_null(Batches::Root),
            big_integer_null(Batches::Size),
            blob_null(Batches::Salt),
            blob_null(Batches::EntryHash),
        ] {
            manager.alter_table(Table::alter().table(Batches::Table).add_column(col).to_owned()).await?;
        }
        // One entry per place in a chain: two writers of one shard (a
        // misconfigured pair of instances) cannot fork it; the second fails
        // and retries on top of the first.
        manager
            .create_index(
                Index::create()
                    .name("batches_chain")
                    .table(Batches::Table)
                    .col(Batches::PollId)
                    .col(Batches::Shard)
                    .col(Batches::ChainSeq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("batches_chain").table(Batches::Table).to_owned()).await?;
        for col in
            [Batches::EntryHash, Batches::Salt, Batches::Size, Batches::Root, Batches::PrevHash, Batches::ChainSeq]
        {
            manager.alter_table(Table::alter().table(Batches::Table).drop_column(col).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Polls::Table).drop_column(Polls::Receipts).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Polls {
    Table,
    Receipts,
}

#[derive(DeriveIden)]
enum Batches {
    Table,
    PollId,
    Shard,
    ChainSeq,
    PrevHash,
    Root,
    Size,
    Salt,
    EntryHash,
}
