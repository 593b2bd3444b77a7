//! The guards that keep ratings honest: rate limits, captcha answers and the
//! adaptive-captcha counter. Each is one trait with an in-process side (the
//! embedded default) and a Redis side (cluster mode), so a limit holds across
//! every instance that shares the Redis server.

pub mod captcha;
pub mod client_ip;
pub mod counter;
pub mod rate_limit;

use std::sync::Arc;

use crate::configuration::Settings;

/// The guards a running service uses.
#[derive(Clone)]
pub struct Guards {
    pub limiter: Arc<dyn rate_limit::RateLimiter>,
    /// The in-process limiter: the limiter itself in the embedded mode, the
    /// fallback while Redis is unreachable in cluster mode.
    pub local_limiter: Arc<rate_limit::LocalLimiter>,
    pub captcha: Arc<dyn captcha::CaptchaStore>,
    pub counter: Arc<dyn counter::SubmissionCounter>,
}

impl Guards {
    /// In-process guards, for the embedded default.
    pub fn in_process(settings: &Settings) -> Guards {
        let local_limiter = Arc::new(rate_limit::LocalLimiter::new(&settings.rate_limit));
        Guards {
            limiter: local_limiter.clone(),
            local_limiter,
            captcha: Arc::new(captcha::LocalCaptchaStore::default()),
            counter: Arc::new(counter::LocalCounter::default()),
        }
    }
}
