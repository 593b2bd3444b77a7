#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests: the real service on a random port, a real database
//! (SQLite by default, PostgreSQL when `PINGYI_TEST_DATABASE_URL` is set).

mod analysis_cli;
mod analyze_files;
mod bulletin;
mod cluster;
mod crash;
mod demo;
mod durability;
mod form_cache;
mod helpers;
mod integrity_collect;
mod integrity_demo;
mod integrity_publish;
mod integrity_review;
mod integrity_support;
mod integrity_void;
mod landing;
mod office_auth;
mod office_institutions;
mod office_model;
mod office_pages;
mod office_publish;
mod office_questionnaires;
mod office_signin;
mod privacy;
mod serve_binary;
mod survey;
mod survey_guards;
mod uploads;
