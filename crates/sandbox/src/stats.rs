//! Request counters for `GET /_sandbox/stats`: by route template (`"PUT /folio/users/{id}"`) and by
//! status (`"201"`, or `"dropped"` when the connection was closed without a response).

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts of handled requests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// All counted requests.
    pub total: u64,
    /// By `"METHOD /route/template"`.
    pub requests: BTreeMap<String, u64>,
    /// By status code, or `"dropped"`.
    pub statuses: BTreeMap<String, u64>,
    /// Seconds requests spent in the sandbox, arrival to answer, summed over requests (the
    /// sandbox's own requests-in-flight integral: divided by a run's wall time, how many
    /// requests it held at once on average).
    pub answering_seconds: f64,
}

impl Stats {
    /// Counts one request.
    pub fn record(&mut self, route: &str, status: &str) {
        self.total += 1;
        *self.requests.entry(route.to_string()).or_default() += 1;
        *self.statuses.entry(status.to_string()).or_default() += 1;
    }

    /// Adds one request's time in the sandbox, arrival to answer.
    pub fn answered(&mut self, took: std::time::Duration) {
        self.answering_seconds += took.as_secs_f64();
    }
}
