//! The admin API. Reads need a session; writes need role `admin` and the
//! session's CSRF token (see `crate::auth`).
pub mod audit;
pub mod polls;
pub mod reports;
pub mod session;
