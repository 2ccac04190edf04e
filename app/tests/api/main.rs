//! Integration tests: the real server on port 0, against a fresh SQLite file
//! and a fresh database on the real Postgres. Every scenario runs on both.
// JSON answers are read by index (`body["code"]`): a missing field is a
// failed test, which is what a panic here is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod helpers;

mod accounts;
mod admin;
mod bad_input;
mod close;
mod cluster;
mod dedupe;
mod guards;
mod kinds;
mod ledger;
mod openapi;
mod pages;
mod ratelimit;
mod reports;
mod results;
mod shutdown;
mod telemetry;
mod throughput;
mod tokens;
mod verify;
mod webhook;
