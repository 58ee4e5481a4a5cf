//! Tinct's server: configuration, database, HTTP routes and the command line.

pub mod commands;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod logging;
pub mod web;
