//! Integration tests: the real server on port 0, against a fresh SQLite file
//! and a fresh database on the real Postgres. Every scenario runs on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod admin;
mod bad_input;
mod close;
mod cluster;
mod dedupe;
mod ledger;
mod openapi;
mod pages;
mod ratelimit;
mod reports;
mod results;
mod shutdown;
mod telemetry;
mod throughput;
mod webhook;
