//! Rate limits per client address (IPv4 address, IPv6 /64) and per subnet
//! (IPv4 /24, IPv6 /48), with separate quotas for page views and
//! submissions. The keys are computed before the limiter
//! (`guard::ClientKeys`), so the in-process and Redis limiters count alike.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};

use crate::setup::configuration::RateLimitSettings;

/// Which quota a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    PageView,
    Submission,
    SubnetSubmission,
    /// Office sign-in attempts (`POST /office/login`).
    Login,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::PageView => "view",
            Scope::Submission => "submit",
            Scope::SubnetSubmission => "subnet",
            Scope::Login => "login",
        }
    }

    /// Whether the scope counts a client's network (IPv4 /24, IPv6 /48)
    /// rather than its address (IPv4 address, IPv6 /64).
    pub fn per_network(self) -> bool {
        matches!(self, Scope::SubnetSubmission)
    }

    /// (requests per period, period, burst) of the scope.
    pub fn quota(self, s: &RateLimitSettings) -> (u32, Duration, u32) {
        match self {
            Scope::PageView => (
                s.page_views_per_minute,
                Duration::from_secs(60),
                s.page_view_burst,
            ),
            Scope::Submission => (
                s.submissions_per_hour,
                Duration::from_secs(3600),
                s.submission_burst,
            ),
            Scope::SubnetSubmission => (
                s.subnet_submissions_per_hour,
                Duration::from_secs(3600),
                s.subnet_submission_burst,
            ),
            Scope::Login => (s.logins_per_hour, Duration::from_secs(3600), s.login_burst),
        }
    }
}

/// A refusal: the caller may try again after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header, never 0.
    pub fn seconds(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `scope` for `key` (an opaque client or subnet
    /// key) and says whether it is allowed.
    async fn check(&self, scope: Scope, key: &str) -> Result<(), RetryAfter>;
    /// Whether the limiter is running on its fallback (Redis unreachable).
    fn degraded(&self) -> bool {
        false
    }
}

type Keyed = Governor<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// In-process GCRA limiters (governor), one per scope.
pub struct LocalLimiter {
    views: Keyed,
    submissions: Keyed,
    subnets: Keyed,
    logins: Keyed,
    clock: DefaultClock,
}

fn quota((count, period, burst): (u32, Duration, u32)) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    let replenish = period / count.max(1);
    Quota::with_period(replenish)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LocalLimiter {
    pub fn new(settings: &RateLimitSettings) -> LocalLimiter {
        LocalLimiter {
            views: Governor::keyed(quota(Scope::PageView.quota(settings))),
            submissions: Governor::keyed(quota(Scope::Submission.quota(settings))),
            subnets: Governor::keyed(quota(Scope::SubnetSubmission.quota(settings))),
            logins: Governor::keyed(quota(Scope::Login.quota(settings))),
            clock: DefaultClock::default(),
        }
    }

    pub fn check_now(&self, scope: Scope, key: &str) -> Result<(), RetryAfter> {
        let limiter = match scope {
            Scope::PageView => &self.views,
            Scope::Submission => &self.submissions,
            Scope::SubnetSubmission => &self.subnets,
            Scope::Login => &self.logins,
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(self.clock.now())))
    }

    /// Forgets keys whose state has fully replenished; keeps memory bounded.
    pub fn retain_recent(&self) {
        self.views.retain_recent();
        self.submissions.retain_recent();
        self.subnets.retain_recent();
        self.logins.retain_recent();
    }
}

#[async_trait::async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(&self, scope: Scope, key: &str) -> Result<(), RetryAfter> {
        self.check_now(scope, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let settings = RateLimitSettings {
            page_views_per_minute: 60,
            page_view_burst: 3,
            submissions_per_hour: 1,
            submission_burst: 1,
            subnet_submissions_per_hour: 1,
            subnet_submission_burst: 1,
            logins_per_hour: 1,
            login_burst: 2,
        };
        let limiter = LocalLimiter::new(&settings);
        for _ in 0..3 {
            assert!(limiter.check_now(Scope::PageView, "a").is_ok());
        }
        let refused = limiter.check_now(Scope::PageView, "a");
        assert!(
            matches!(refused, Err(r) if r.seconds() >= 1 && r.seconds() <= 2),
            "{refused:?}"
        );
        assert!(limiter.check_now(Scope::PageView, "b").is_ok());
        assert!(limiter.check_now(Scope::Submission, "a").is_ok());
        assert!(matches!(limiter.check_now(Scope::Submission, "a"), Err(r) if r.seconds() > 3000));
        // Sign-ins have a quota of their own.
        assert!(limiter.check_now(Scope::Login, "a").is_ok());
        assert!(limiter.check_now(Scope::Login, "a").is_ok());
        assert!(matches!(limiter.check_now(Scope::Login, "a"), Err(r) if r.seconds() > 3000));
    }
}
