//! Sign-in attempts are limited per address and per account name, so a password cannot be
//! guessed quickly from one machine or against one account from many.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginThrottle {
    per_address: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginThrottle {
    /// `attempts` at once, then one more every `window / attempts`.
    pub fn new(attempts: u32, window: Duration) -> Self {
        let burst = NonZeroU32::new(attempts.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = (window / burst.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        LoginThrottle {
            per_address: RateLimiter::keyed(quota),
            per_account: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err(wait)` when this address or account must wait first.
    pub fn attempt(&self, address: &str, account: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let account = account.to_lowercase();
        for (limiter, key) in [
            (&self.per_address, address),
            (&self.per_account, account.as_str()),
        ] {
            if let Err(not_until) = limiter.check_key(&key.to_string()) {
                return Err(not_until.wait_time_from(now));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_beyond_the_burst_wait_and_then_recover() {
        let throttle = LoginThrottle::new(3, Duration::from_millis(300));
        for _ in 0..3 {
            assert!(throttle.attempt("10.0.0.1", "ana").is_ok());
        }
        let wait = throttle.attempt("10.0.0.1", "ana").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another address is limited by the account, another account by the address.
        assert!(throttle.attempt("10.0.0.2", "ana").is_err());
        assert!(throttle.attempt("10.0.0.1", "ben").is_err());
        std::thread::sleep(Duration::from_millis(120));
        assert!(throttle.attempt("10.0.0.1", "ana").is_ok());
    }
}
