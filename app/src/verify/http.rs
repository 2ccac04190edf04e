//! The public ledger over HTTP: `GET /api/polls/{slug}/ledger` (one
//! shard's chain, paged) and `GET /api/polls/{slug}/ledger/heads` (each
//! chain's latest entry). Both read the database; both are public, as a
//! poll's results are, except that while results are hidden each entry
//! shows the commitment to its deltas instead of the deltas.
use actix_web::{HttpResponse, web};
use api::ledger::{self as chain, LedgerEntry, LedgerHead, LedgerHeads, LedgerPage};
use serde::Deserialize;

use crate::db::ledger::{self as stored, StoredEntry};
use crate::domain::PollDef;
use crate::http::ApiError;
use crate::read::{public_poll, public_visibility};
use crate::state::AppState;

/// Most entries one page holds.
pub const MAX_PAGE: u64 = 1000;
const DEFAULT_PAGE: u64 = 100;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// The chain: one per instance that counted votes (see `…/ledger/heads`).
    shard: String,
    /// Entries after this `seq` (default 0: from the first).
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    /// Entries per page, 1 to 1000 (default 100).
    #[serde(default = "default_page")]
    #[param(minimum = 1, maximum = 1000)]
    limit: u64,
}

fn default_page() -> u64 {
    DEFAULT_PAGE
}

/// Whether entries show their deltas: when the public may see results.
fn revealed(def: &PollDef) -> bool {
    public_visibility(def).is_ok()
}

/// An entry as the public sees it; `has_ballots`: the poll is `multiple`
/// or `ranked`, so its entries list (and hash) their ballots.
fn view(e: StoredEntry, revealed: bool, has_ballots: bool) -> LedgerEntry {
    let ballots = has_ballots.then_some(e.ballots);
    LedgerEntry {
        commitment: (!revealed).then(|| chain::to_hex(&chain::commitment(&e.salt, &e.deltas, ballots.as_deref()))),
        salt: revealed.then(|| chain::to_hex(&e.salt)),
        deltas: revealed.then_some(e.deltas),
        ballots: ballots.filter(|_| revealed),
        shard: e.shard,
        seq: e.seq,
        prev_hash: chain::to_hex(&e.prev_hash),
        root: chain::to_hex(&e.root),
        size: e.size,
        entry_hash: chain::to_hex(&e.entry_hash),
        committed_at: e.committed_at,
    }
}

/// Entries are final once written; only their reveal at close changes a
/// page, so a shared cache may keep one a moment.
fn cached(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=2")).json(body)
}

/// `GET /api/polls/{slug}/ledger`.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/ledger",
    tag = "ledger",
    params(("slug" = String, Path, description = "The poll's address"), LedgerQuery),
    responses(
        (status = 200, description = "Entries of one chain after `after`, oldest first; `next_after` pages on", body = LedgerPage),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get_ledger(
    path: web::Path<String>,
    query: web::Query<LedgerQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    if !(1..=MAX_PAGE).contains(&q.limit) {
        return Err(ApiError::BadQuery(format!("limit must be 1-{MAX_PAGE}")));
    }
    if q.after < 0 {
        return Err(ApiError::BadQuery("after must be 0 or more".into()));
    }
    let entry = public_poll(&state, &path)?;
    let revealed = revealed(&entry.def);
    let has_ballots = entry.def.ballot.kind.has_ballots();
    let mut rows = stored::entries(&state.db, entry.def.id, &q.shard, q.after, q.limit + 1).await?;
    let more = rows.len() as u64 > q.limit;
    rows.truncate(q.limit as usize);
    let next_after = if more { rows.last().map(|e| e.seq) } else { None };
    Ok(cached(LedgerPage { entries: rows.into_iter().map(|e| view(e, revealed, has_ballots)).collect(), next_after }))
}

/// `GET /api/polls/{slug}/ledger/heads`.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/ledger/heads",
    tag = "ledger",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "Each chain's latest entry, and whether entries show their deltas", body = LedgerHeads),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get_heads(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(&state, &path)?;
    let heads = stored::heads(&state.db, entry.def.id).await?;
    Ok(cached(LedgerHeads {
        revealed: revealed(&entry.def),
        heads: heads
            .into_iter()
            .map(|(shard, seq, hash)| LedgerHead { shard, seq, entry_hash: chain::to_hex(&hash) })
            .collect(),
    }))
}
