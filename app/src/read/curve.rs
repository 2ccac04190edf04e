//! The vote curve: votes committed per bucket of time, read from the batch
//! ledger and shared by every dashboard of a poll on this instance.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::http::header;
use api::Timeseries;
use bytes::Bytes;
use sea_orm::DatabaseConnection;

use crate::db::query;
use crate::http::ApiError;

/// The ledger is summed in buckets of this many seconds…
const BASE_BUCKET_SECS: i64 = 10;
/// …then merged into wider ones until at most this many remain.
const MAX_POINTS: i64 = 360;

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
pub async fn timeseries_of(
    curves: &CurveCache,
    db: &DatabaseConnection,
    poll_id: i64,
) -> Result<HttpResponse, ApiError> {
    let mut cache = curves.0.lock().await;
    let json = match cache.get(&poll_id) {
        Some((at, json)) if at.elapsed() < CURVE_TTL => json.clone(),
        _ => {
            let points = query::votes_per_bucket(db, poll_id, BASE_BUCKET_SECS).await?;
            let json =
                Bytes::from(serde_json::to_vec(&rebucket(points, BASE_BUCKET_SECS)).map_err(anyhow::Error::from)?);
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
}
