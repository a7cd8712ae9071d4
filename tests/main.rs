//! End-to-end tests: the real `mfund` binary against real SQLite and PostgreSQL databases.
//!
//! One test binary, modules by purpose. PostgreSQL tests create and drop a database of their
//! own on the server named by `MFUND_TEST_PG` (default postgres://postgres@127.0.0.1:5432/postgres)
//! and fail, never skip, when it does not answer: `scripts/test` starts one if needed.

mod support;

mod allocation;
mod api;
mod bad_input;
mod crash;
mod drawdown;
mod estate;
mod gen_files;
mod import;
mod integrity;
mod interop;
mod rating;
mod reconcile;
mod regression;
mod tamper;
