//! Libib patrons API: client (`x-api-key`/`x-api-user`, query-string writes, one global pacer)
//! and the conversion of mapped records to Libib's query parameters.

pub mod client;
pub mod config;
pub mod connect;
mod connector;
pub mod export;
mod init;
pub mod plan;
mod schema;
pub mod session;
pub mod sync;
pub mod undo;
pub mod write;

pub use connector::LibibConnector;

use std::time::Duration;

/// Libib's published limit: "Libib rate limits requests to the API. Currently you may hit the
/// API once every 2 seconds." (shared/reference/illiad-libib-api.md §1.1 "Base URL,
/// authentication, rate limit", line 39; Libib docs introduction.html).
pub const PUBLISHED_INTERVAL: Duration = Duration::from_secs(2);

/// What the client adds to [`PUBLISHED_INTERVAL`]: starts are measured at the client, Libib
/// measures arrivals, and 50 ms (2.5 %) covers the difference in the time a request takes to get
/// there; more than that is learnt from a 429 ([`pacing`]). Our choice, not Libib's.
pub const PACING_MARGIN: Duration = Duration::from_millis(50);

/// The default interval between request starts: the published limit plus the margin (2.05 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(2050);

/// The default `rate`: one request per [`DEFAULT_INTERVAL`] (≈ 0.488 per second).
pub fn default_rate() -> f64 {
    1.0 / DEFAULT_INTERVAL.as_secs_f64()
}

/// How a Libib target is paced at `rate` requests per second: one start per `1 / rate` from the
/// previous start; a 429 (whose `Retry-After` is waited out by the client, [SILENT] in Libib's
/// docs, illiad-libib-api.md line 41) widens the interval by half, up to twice the base (an
/// observed 3-second gap avoided 429s, line 40); 20 answers in a row without one narrow it a
/// step back.
pub fn pacing(rate: f64) -> crate::http::pace::Adapt {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        default_rate()
    };
    let base = Duration::from_secs_f64(1.0 / rate);
    crate::http::pace::Adapt {
        base,
        widest: base * 2,
        widen: 1.5,
        clean_stretch: 20,
    }
}

/// The fields of a Libib patron as the API returns them, in its order; `barcode` first, since it
/// addresses the patron (`POST /patrons/{barcode}`). Source: `reference/seeds/libib-patrons-client-docs.txt`.
pub const PATRON_FIELDS: [&str; 15] = [
    "barcode",
    "first_name",
    "last_name",
    "email",
    "notification_emails",
    "tags",
    "patron_id",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "zip",
    "freeze",
];

/// The patron fields other than the barcode: what an update can change.
pub const EDITABLE_FIELDS: &[&str] = PATRON_FIELDS.split_at(1).1;

impl super::System {
    /// Libib (`system = "libib"`).
    #[allow(non_upper_case_globals)]
    pub const Libib: super::System = super::System("libib");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pace_is_the_published_interval_plus_the_margin() {
        assert_eq!(DEFAULT_INTERVAL, PUBLISHED_INTERVAL + PACING_MARGIN);
        let a = pacing(default_rate());
        assert!(a.base.abs_diff(Duration::from_millis(2050)) < Duration::from_micros(10));
        assert!(
            a.base >= PUBLISHED_INTERVAL,
            "never faster than Libib allows"
        );
        assert_eq!(a.widest, a.base * 2);
        // A configured rate sets the base; nonsense falls back to the default.
        assert_eq!(pacing(1.0).base, Duration::from_secs(1));
        assert_eq!(pacing(f64::NAN).base, pacing(default_rate()).base);
    }
}
