//! Retry policy: which failures are worth retrying and how long to wait (exponential backoff with
//! full jitter, honouring `Retry-After`).

use rand::Rng;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Whether an HTTP status is transient (429 or 5xx other than 501).
    pub fn retryable_status(status: u16) -> bool {
        status == 429 || (500..600).contains(&status) && status != 501
    }

    /// The wait before retry number `attempt` (1-based): the server's `Retry-After` if given
    /// (plus a little jitter), otherwise a uniformly random delay up to `min(cap, base * 2^(attempt-1))`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::thread_rng();
        if let Some(ra) = retry_after {
            return ra + Duration::from_millis(rng.gen_range(0..=100));
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.cap);
        let ms = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rng.gen_range(0..=ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(RetryPolicy::retryable_status(429));
        assert!(RetryPolicy::retryable_status(503));
        assert!(!RetryPolicy::retryable_status(501));
        assert!(!RetryPolicy::retryable_status(422));
        assert!(!RetryPolicy::retryable_status(400));
    }

    #[test]
    fn delays_are_bounded_and_honour_retry_after() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            assert!(p.delay(attempt, None) <= p.cap);
        }
        assert!(p.delay(1, None) <= Duration::from_millis(200));
        let d = p.delay(3, Some(Duration::from_secs(2)));
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
    }
}
