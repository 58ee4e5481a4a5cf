//! Tinct's server: configuration, database, HTTP routes and the command line.
// The pages' view types are deep; the server monomorphizes them for rendering.
#![recursion_limit = "512"]

pub mod commands;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod logging;
pub mod web;
