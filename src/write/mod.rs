//! Writer stage: applies planned actions with retries, under the target's shared governor.

pub mod retry;
