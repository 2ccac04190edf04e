//! What admins read: the CSV export, the vote curve, the operations panel.
use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, eventually, option_ids};
use crate::on_both_backends;

async fn export_and_curve(app: TestApp) {
    let poll = app
        .open_poll(
            "report",
            json!({
                "options": [{ "label": "A" }, { "label": "Bruno \"B\", SP" }],
                "tracks": [
                    { "name": "unico", "dedupe": "unlimited", "weight": 70 },
                    { "name": "torcida", "dedupe": "unlimited", "weight": 30 },
                ],
            }),
        )
        .await;
    let (id, options) = (poll["id"].as_i64().unwrap(), option_ids(&poll));
    for (option, track, n) in [(options[0], "unico", 3), (options[1], "unico", 1), (options[1], "torcida", 4)] {
        for _ in 0..n {
            assert_eq!(
                app.vote("report", json!({ "option_id": option, "track": track }), &[]).await.status,
                StatusCode::OK
            );
        }
    }

    let (status, ct, csv) =
        app.get_text(&format!("/api/admin/polls/{id}/export.csv"), &[("cookie", &app.admin_cookie)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "poll,status,as_of,track,weight,option_id,option,votes,percent");
    let b = r#""Bruno ""B"", SP""#;
    let row = |track: &str, option: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!(",{track},")) && l.contains(&format!(",{option},")))
            .copied()
            .unwrap_or_default()
    };
    assert!(row("unico", "A").ends_with(",A,3,75.00"), "{csv}");
    assert!(row("unico", b).ends_with(&format!(",{b},1,25.00")), "{csv}");
    assert!(row("torcida", b).ends_with(&format!(",{b},4,100.00")), "{csv}");
    // Weighted: A = 0.7 × 75 = 52.5, B = 0.7 × 25 + 0.3 × 100 = 47.5.
    assert!(row("weighted", "A").ends_with(",A,,52.50"), "{csv}");
    assert!(row("weighted", b).ends_with(&format!(",{b},,47.50")), "{csv}");

    let curve = app.get("/api/polls/report/timeseries", &[]).await;
    assert_eq!(curve.status, StatusCode::OK, "{:?}", curve.body);
    let points = curve.body["points"].as_array().unwrap();
    assert!(!points.is_empty());
    assert_eq!(points.iter().map(|p| p[1].as_i64().unwrap()).sum::<i64>(), 8);
    assert_eq!(app.admin_get(&format!("/api/admin/polls/{id}/timeseries")).await.body, curve.body);

    // Both are for admins only; the curve follows the results' visibility.
    assert_problem(&app.get(&format!("/api/admin/polls/{id}/export.csv"), &[]).await, 401, "not-logged-in");
    let hidden = app.open_poll("hidden-curve", json!({ "results_visibility": "admin_only" })).await;
    assert_problem(&app.get("/api/polls/hidden-curve/timeseries", &[]).await, 403, "results-admin-only");
    assert_eq!(app.admin_get("/api/polls/hidden-curve/timeseries").await.status, StatusCode::OK, "{hidden}");
}
on_both_backends!(the_csv_export_and_the_vote_curve_add_up_to_the_votes_cast, super::export_and_curve);

async fn ops_panel(app: TestApp) {
    let poll = app.open_poll("ops", json!({})).await;
    let option = option_ids(&poll)[0];
    for _ in 0..30 {
        assert_eq!(app.vote("ops", json!({ "option_id": option }), &[]).await.status, StatusCode::OK);
    }
    // The panel sums complete seconds only: wait for the votes' second to end.
    eventually(std::time::Duration::from_secs(3), "the votes' second entering the panel", || async {
        app.admin_get("/api/admin/ops").await.body["votes_per_sec"].as_f64().unwrap_or(0.0) * 60.0 >= 30.0 - 1e-9
    })
    .await;
    let ops = app.admin_get("/api/admin/ops").await;
    assert_eq!(ops.status, StatusCode::OK, "{:?}", ops.body);
    // Tests share the process's window, so other tests' votes may add up.
    assert!(ops.body["votes_per_sec"].as_f64().unwrap() * 60.0 >= 30.0 - 1e-9, "{:?}", ops.body);
    assert!(ops.body["requests_per_sec"].as_f64().unwrap() * 60.0 >= 31.0 - 1e-9, "{:?}", ops.body);
    assert!(ops.body["p99_ms"].as_f64().is_some(), "{:?}", ops.body);
    assert_eq!(ops.body["queue_depth"], 0);
    assert_eq!(ops.body["redis"], "disabled");
    assert_problem(&app.get("/api/admin/ops", &[]).await, 401, "not-logged-in");
}
on_both_backends!(the_operations_panel_counts_this_instances_last_minute, super::ops_panel);
