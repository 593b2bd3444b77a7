//! The guards that keep ratings honest: rate limits, captcha answers and the
//! adaptive-captcha counter. Each is one trait with an in-process side (the
//! embedded default) and a Redis side (cluster mode), so a limit holds across
//! every instance that shares the Redis server.

pub mod captcha;
pub mod client_ip;
pub mod counter;
pub mod dedup;
pub mod rate_limit;
pub mod redis;

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
    pub dedup: Arc<dyn dedup::DedupCache>,
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
            dedup: Arc::new(dedup::LocalDedup::default()),
        }
    }

    /// Guards for the configuration: Redis-backed when `redis_url` is set.
    pub async fn for_settings(settings: &Settings) -> anyhow::Result<Guards> {
        let Some(url) = &settings.redis_url else {
            return Ok(Guards::in_process(settings));
        };
        let backend = redis::RedisBackend::start(url, &settings.redis_prefix).await?;
        let local_limiter = Arc::new(rate_limit::LocalLimiter::new(&settings.rate_limit));
        Ok(Guards {
            limiter: Arc::new(redis::RedisLimiter::new(
                backend.clone(),
                local_limiter.clone(),
                settings,
            )),
            local_limiter,
            captcha: Arc::new(redis::RedisCaptchaStore::new(backend.clone())),
            counter: Arc::new(redis::RedisCounter::new(backend.clone())),
            dedup: Arc::new(redis::RedisDedup::new(backend)),
        })
    }
}
