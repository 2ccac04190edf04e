//! The admin API: sessions, poll management, reports and the audit log.
//! Reads need a session; writes need role `admin` and the session's CSRF
//! token (see `auth`). Every change is written to the append-only audit log
//! in the same transaction as the change.
//!
//! # Layout
//! - `auth`: argon2id passwords (a few hashes at once), session lookup,
//!   CSRF, the admin extractors.
//! - `throttle`: failed-login counts per client network and username.
//! - `totp`: RFC 6238 one-time codes for two-step login.
//! - `sessions`: login, logout, who am I.
//! - `account`: a user's own password and two-step login; the operator's
//!   reset.
//! - `polls`: create, list, read, edit, delete, open, close.
//! - `reports`: the admin's vote curve, the CSV export, the operations panel.
//! - `invites`: single-use invite codes, their sheet and their count.
//! - `tokens`: API tokens for a host's systems (`Authorization: Bearer`).
//! - `setup`: the first admin, from the one-time link `urna serve` prints.
//! - `audit`: the audit log.
mod account;
mod audit;
mod auth;
mod invites;
mod polls;
mod reports;
mod sessions;
mod setup;
mod throttle;
mod tokens;
mod totp;

pub use account::reset_admin;
pub use auth::{AdminUser, check_new_password, current_admin, hash_password};
pub use setup::setup_link;
pub use throttle::WINDOW as LOGIN_THROTTLE_WINDOW;
/// The one-time code of a two-step login secret at a Unix time (for tests
/// and tools).
pub use totp::code_at as totp_code_at;

use actix_web::web;

use crate::http::resource;

/// The admin API's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    sessions::login,
    sessions::logout,
    sessions::me,
    account::change_password,
    account::totp_setup,
    account::totp_enable,
    account::totp_disable,
    polls::list,
    polls::create,
    polls::get,
    polls::update,
    polls::delete,
    polls::open,
    polls::close,
    polls::reveal,
    invites::create,
    invites::stats,
    reports::timeseries,
    reports::export_csv,
    reports::ops,
    audit::list,
    tokens::create,
    tokens::list,
    tokens::revoke,
    setup::setup,
))]
pub struct Api;

/// Registers the admin routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/login").route(web::post().to(sessions::login)))
        .service(resource("/api/admin/logout").route(web::post().to(sessions::logout)))
        .service(resource("/api/admin/me").route(web::get().to(sessions::me)))
        .service(resource("/api/admin/password").route(web::post().to(account::change_password)))
        .service(resource("/api/admin/totp").route(web::post().to(account::totp_setup)))
        .service(resource("/api/admin/totp/enable").route(web::post().to(account::totp_enable)))
        .service(resource("/api/admin/totp/disable").route(web::post().to(account::totp_disable)))
        .service(resource("/api/admin/polls").route(web::get().to(polls::list)).route(web::post().to(polls::create)))
        .service(
            resource("/api/admin/polls/{id}")
                .route(web::get().to(polls::get))
                .route(web::patch().to(polls::update))
                .route(web::delete().to(polls::delete)),
        )
        .service(resource("/api/admin/polls/{id}/open").route(web::post().to(polls::open)))
        .service(resource("/api/admin/polls/{id}/close").route(web::post().to(polls::close)))
        .service(resource("/api/admin/polls/{id}/reveal").route(web::post().to(polls::reveal)))
        .service(
            resource("/api/admin/polls/{id}/invites")
                .route(web::get().to(invites::stats))
                .route(web::post().to(invites::create)),
        )
        .service(resource("/api/admin/polls/{id}/timeseries").route(web::get().to(reports::timeseries)))
        .service(resource("/api/admin/polls/{id}/export.csv").route(web::get().to(reports::export_csv)))
        .service(resource("/api/admin/ops").route(web::get().to(reports::ops)))
        .service(resource("/api/admin/audit").route(web::get().to(audit::list)))
        .service(resource("/api/admin/tokens").route(web::get().to(tokens::list)).route(web::post().to(tokens::create)))
        .service(resource("/api/admin/tokens/{id}").route(web::delete().to(tokens::revoke)))
        .service(resource("/api/admin/setup").route(web::post().to(setup::setup)));
}
