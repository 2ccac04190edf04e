//! What admins read about polls and the instance: the vote curve, the CSV
//! export of results, and the operations panel's figures.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;

use crate::auth::AdminUser;
use crate::db::query;
use crate::error::ApiError;
use crate::results::ReadModel;
use crate::routes::admin::polls::entry;
use crate::state::AppState;

/// The ledger is summed in buckets of this many seconds…
const BASE_BUCKET_SECS: i64 = 10;
/// …then merged into wider ones until at most this many remain.
const MAX_POINTS: i64 = 360;

/// The vote curve.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Timeseries {
    /// Width of each bucket in seconds.
    bucket_secs: i64,
    /// `[bucket start in unix seconds, votes committed in it]`, oldest first.
    #[schema(value_type = Vec<Vec<i64>>)]
    points: Vec<(i64, i64)>,
}

/// Merges `(start, votes)` buckets of `base` seconds into buckets wide
/// enough that at most `MAX_POINTS` cover the whole span.
fn rebucket(points: Vec<(i64, i64)>, base: i64) -> Timeseries {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Timeseries { bucket_secs: base, points };
    };
    let span = last.0 - first.0 + base;
    let width = (span / MAX_POINTS + base) / base * base;
    if width <= base {
        return Timeseries { bucket_secs: base, points };
    }
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (at, n) in points {
        let start = at - at.rem_euclid(width);
        match merged.last_mut() {
            Some((s, sum)) if *s == start => *sum += n,
            _ => merged.push((start, n)),
        }
    }
    Timeseries { bucket_secs: width, points: merged }
}

/// A curve is read from the ledger at most this often per poll and instance.
const CURVE_TTL: Duration = Duration::from_secs(5);

/// The vote curves read lately, per poll. The lock is held across the
/// query, so a crowd opening the dashboard at once (the whole audience of a
/// show, after the host reads out the address) costs one query per poll
/// and instance every few seconds, not one per viewer; the dashboard adds
/// the live part from the stream.
#[derive(Default)]
pub struct CurveCache(tokio::sync::Mutex<HashMap<i64, (Instant, Bytes)>>);

/// The vote curve of a poll: votes committed per bucket of time.
pub async fn timeseries_of(state: &AppState, poll_id: i64) -> Result<HttpResponse, ApiError> {
    let mut cache = state.curves.0.lock().await;
    let json = match cache.get(&poll_id) {
        Some((at, json)) if at.elapsed() < CURVE_TTL => json.clone(),
        _ => {
            let points = query::votes_per_bucket(&state.db, poll_id, BASE_BUCKET_SECS).await?;
            let json = Bytes::from(serde_json::to_vec(&rebucket(points, BASE_BUCKET_SECS)).map_err(anyhow::Error::from)?);
            cache.retain(|_, (at, _)| at.elapsed() < CURVE_TTL);
            cache.insert(poll_id, (Instant::now(), json.clone()));
            json
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(json))
}

/// `GET /api/admin/polls/{id}/timeseries`.
#[utoipa::path(
    get,
    path = "/api/admin/polls/{id}/timeseries",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Votes committed per time bucket, whatever the poll's visibility", body = Timeseries),
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown poll, option or track", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn timeseries(_user: AdminUser, path: web::Path<i64>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    timeseries_of(&state, entry(&state, *path)?.def.id).await
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
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The results as committed, one row per track and option, then the weighted result", body = String, content_type = "text/csv"),
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown poll, option or track", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn export_csv(_user: AdminUser, path: web::Path<i64>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entry = entry(&state, *path)?;
    let def = &entry.def;
    let mut read = ReadModel::default();
    read.apply(query::poll_counts(&state.db, def.id).await?);
    let snap = read.snapshot(def, Utc::now());
    let as_of = snap.as_of.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut out = String::from("poll,status,as_of,track,weight,option_id,option,votes,percent\r\n");
    let status = snap.status.as_str();
    let mut line = |track: &str, weight: String, id: i64, label: &str, votes: String, percent: f64| {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.2}\r\n",
            csv_field(&def.slug), status, as_of, csv_field(track), weight, id, csv_field(label), votes, percent
        ));
    };
    for t in &snap.tracks {
        for o in &t.options {
            line(&t.name, t.weight.to_string(), o.option_id, &o.label, o.votes.to_string(), o.percent);
        }
    }
    if snap.tracks.len() > 1 {
        for w in &snap.weighted {
            line("weighted", String::new(), w.option_id, &w.label, String::new(), w.percent);
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}-results.csv\"", def.slug)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ops {
    #[serde(flatten)]
    window: crate::ops::Window,
    queue_depth: usize,
    sse_viewers: i64,
    redis: &'static str,
}

/// `GET /api/admin/ops`: this instance's last minute, for the panel.
#[utoipa::path(
    get,
    path = "/api/admin/ops",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "This instance's last minute: votes/s, error rate, p99 latency, queue depth", body = Ops),
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn ops(_user: AdminUser, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Ops {
        window: crate::ops::window(),
        queue_depth: state.registry.pending_votes(),
        sse_viewers: crate::routes::results::viewers(),
        redis: crate::routes::health::redis_status(&state),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_poll_is_merged_into_at_most_max_points_buckets() {
        let points: Vec<(i64, i64)> = (0..10_000).map(|i| (i * 10, 1)).collect();
        let ts = rebucket(points, 10);
        assert!(ts.points.len() as i64 <= MAX_POINTS, "{} points", ts.points.len());
        assert_eq!(ts.points.iter().map(|p| p.1).sum::<i64>(), 10_000);
        assert_eq!(ts.bucket_secs % 10, 0);
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
