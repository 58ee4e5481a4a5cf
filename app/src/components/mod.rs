//! Pieces shared by several pages.

pub mod batch_filter;
pub mod empty_state;
pub mod layout;
pub mod local_time;
pub mod review_filter;
