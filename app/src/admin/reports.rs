//! What admins read about polls and the instance: the vote curve, the CSV
//! export of results, and the operations panel's figures.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use api::Ops;
use chrono::Utc;

use super::auth::AdminUser;
use super::polls::entry;
use crate::db::query;
use crate::http::ApiError;
use crate::read::ReadModel;
use crate::state::AppState;

/// `GET /api/admin/polls/{id}/timeseries`.
#[utoipa::path(
    get,
    path = "/api/admin/polls/{id}/timeseries",
    operation_id = "admin_timeseries",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Votes committed per time bucket, whatever the poll's visibility", body = api::Timeseries),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn timeseries(
    _user: AdminUser,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::read::timeseries_of(&state.curves, &state.db, entry(&state, *path)?.def.id).await
}

fn csv_field(s: &str) -> String {
    // Quote what needs it; a leading = + - @ is defused so a spreadsheet
    // never runs an option's label as a formula.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// `GET /api/admin/polls/{id}/export.csv`: the results as committed in the
/// database (summed over every instance's shard), one row per track and
/// option, then the weighted result of a several-track poll.
#[utoipa::path(
    get,
    path = "/api/admin/polls/{id}/export.csv",
    operation_id = "export_csv",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The results as committed, one row per track and option, then the weighted result", body = String, content_type = "text/csv"),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn export_csv(
    _user: AdminUser,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = entry(&state, *path)?;
    let def = &entry.def;
    let mut read = ReadModel::default();
    read.apply(query::poll_counts(&state.db, def.id).await?);
    let snap = read.snapshot(def, Utc::now());
    // (A fresh model counts its runoff at once.)
    let as_of = snap.as_of.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut out = String::from("poll,status,as_of,track,weight,option_id,option,votes,percent\r\n");
    let status = snap.status.as_str();
    let mut line = |track: &str, weight: String, id: String, label: &str, votes: String, percent: f64| {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.2}\r\n",
            csv_field(&def.slug),
            status,
            as_of,
            csv_field(track),
            weight,
            id,
            csv_field(label),
            votes,
            percent
        ));
    };
    let label = |id: i64| def.option(id).map_or(String::new(), |o| o.label.clone());
    for t in &snap.tracks {
        for o in &t.options {
            line(&t.name, t.weight.to_string(), o.option_id.to_string(), &o.label, o.votes.to_string(), o.percent);
        }
        // Multiple and ranked polls: the ballots cast, then each runoff
        // round's count as a track of its own ("Votes: round 2").
        if def.ballot.kind.has_ballots() {
            line(&t.name, t.weight.to_string(), String::new(), "ballots", t.ballots.to_string(), 100.0);
        }
        for (n, round) in t.instant_runoff.iter().flat_map(|r| r.rounds.iter()).enumerate() {
            let counted: i64 = round.counts.iter().map(|c| c.votes).sum();
            let name = format!("{}: round {}", t.name, n + 1);
            for c in &round.counts {
                let percent = if counted > 0 { c.votes as f64 * 100.0 / counted as f64 } else { 0.0 };
                line(&name, String::new(), c.option_id.to_string(), &label(c.option_id), c.votes.to_string(), percent);
            }
        }
    }
    if snap.tracks.len() > 1 {
        for w in &snap.weighted {
            line("weighted", String::new(), w.option_id.to_string(), &w.label, String::new(), w.percent);
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}-results.csv\"", def.slug)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}

/// `GET /api/admin/ops`: this instance's last minute, for the panel.
#[utoipa::path(
    get,
    path = "/api/admin/ops",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "This instance's last minute: votes/s, error rate, p99 latency, queue depth", body = Ops),
        (status = 401, response = crate::http::responses::Unauthorized)
    )
)]
pub async fn ops(_user: AdminUser, state: web::Data<AppState>) -> HttpResponse {
    let window = crate::ops::window();
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Ops {
        window_secs: window.window_secs,
        requests_per_sec: window.requests_per_sec,
        error_rate: window.error_rate,
        p99_ms: window.p99_ms,
        votes_per_sec: window.votes_per_sec,
        queue_depth: state.registry.pending_votes() as i64,
        sse_viewers: crate::read::viewers(),
        redis: crate::ops::redis_status(&state).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
