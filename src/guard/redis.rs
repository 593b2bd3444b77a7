//! The Redis side of the guards, for cluster mode: every instance sharing
//! the Redis server (under one key prefix) shares rate-limit state, captcha
//! answers, dedup keys and adaptive-captcha counters.
//!
//! Redis is not allowed to take the service down: each call has a short
//! timeout, and on failure the guard falls back to its in-process twin (the
//! database's unique index still guarantees one response per respondent),
//! logs a warning once, reports the degradation in `/healthz` and the
//! `pingyi_redis_degraded` gauge, and a monitor task switches back as soon as
//! Redis answers again.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};

use super::captcha::{CaptchaStore, LocalCaptchaStore};
use super::counter::{LocalCounter, SubmissionCounter, current_hour, sliding};
use super::dedup::{DedupCache, LocalDedup};
use super::rate_limit::{LocalLimiter, RateLimiter, RetryAfter, Scope};
use crate::setup::configuration::{RateLimitSettings, Settings};

/// Longest a guard waits for Redis before falling back.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// GCRA, as governor computes it: a request is allowed when the theoretical
/// arrival time, advanced by one emission interval, is within `burst`
/// intervals of now. Atomic because it runs as one script; the clock is
/// Redis's own, so instances with skewed clocks agree.
const GCRA: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return allow_at - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
"#;

/// The shared connection and the degraded flag.
pub struct RedisBackend {
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    prefix: String,
    degraded: AtomicBool,
    gcra: Script,
}

impl RedisBackend {
    /// Connects (or starts degraded if Redis is down) and starts the monitor.
    pub async fn start(url: &str, prefix: &str) -> anyhow::Result<Arc<RedisBackend>> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("Invalid redis_url: {e}"))?;
        let backend = Arc::new(RedisBackend {
            client,
            connection: Mutex::new(None),
            prefix: prefix.to_owned(),
            degraded: AtomicBool::new(false),
            gcra: Script::new(GCRA),
        });
        if let Err(e) = backend.connect().await {
            backend.mark_degraded(&e);
        }
        let monitor = Arc::downgrade(&backend);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let Some(backend) = monitor.upgrade() else {
                    break;
                };
                if backend.is_degraded() {
                    backend.probe().await;
                }
            }
        });
        Ok(backend)
    }

    async fn connect(&self) -> RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT * 2))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        *self.connection.lock() = Some(manager.clone());
        Ok(manager)
    }

    /// Whether the guards are running on their in-process fallbacks.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn mark_degraded(&self, error: &dyn std::fmt::Display) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "Redis is unreachable; guards fall back to in-process state");
            metrics::gauge!("pingyi_redis_degraded").set(1.0);
        }
    }

    async fn probe(&self) {
        let existing = self.connection.lock().clone();
        let attempt = async {
            let mut conn = match existing {
                Some(c) => c,
                None => self.connect().await?,
            };
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        if let Ok(Ok(_)) = tokio::time::timeout(CALL_TIMEOUT * 4, attempt).await
            && self.degraded.swap(false, Ordering::Relaxed)
        {
            tracing::info!("Redis is reachable again; guards use it");
            metrics::gauge!("pingyi_redis_degraded").set(0.0);
        }
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    /// Runs a call against Redis, or returns None (and degrades) if it fails.
    async fn call<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.is_degraded() {
            return None;
        }
        let conn = self.connection.lock().clone()?;
        match tokio::time::timeout(CALL_TIMEOUT, f(conn)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.mark_degraded(&e);
                None
            }
            Err(_) => {
                self.mark_degraded(&"timed out");
                None
            }
        }
    }
}

/// Rate limits in Redis, with the in-process limiter as fallback.
pub struct RedisLimiter {
    backend: Arc<RedisBackend>,
    local: Arc<LocalLimiter>,
    quotas: RateLimitSettings,
}

impl RedisLimiter {
    pub fn new(
        backend: Arc<RedisBackend>,
        local: Arc<LocalLimiter>,
        settings: &Settings,
    ) -> RedisLimiter {
        RedisLimiter {
            backend,
            local,
            quotas: settings.rate_limit.clone(),
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(&self, scope: Scope, key: &str) -> Result<(), RetryAfter> {
        let (count, period, burst) = scope.quota(&self.quotas);
        let interval_us = (period.as_micros() / u128::from(count.max(1))) as u64;
        let redis_key = self.backend.key(&["rl", scope.name(), key]);
        let script = &self.backend.gcra;
        let verdict = self
            .backend
            .call(|mut conn| async move {
                script
                    .key(&redis_key)
                    .arg(interval_us)
                    .arg(burst)
                    .invoke_async::<u64>(&mut conn)
                    .await
            })
            .await;
        match verdict {
            Some(0) => Ok(()),
            Some(wait_us) => Err(RetryAfter(Duration::from_micros(wait_us))),
            None => self.local.check_now(scope, key),
        }
    }

    fn degraded(&self) -> bool {
        self.backend.is_degraded()
    }
}

/// Captcha answers in Redis: single use across instances (GETDEL).
pub struct RedisCaptchaStore {
    backend: Arc<RedisBackend>,
    local: LocalCaptchaStore,
}

impl RedisCaptchaStore {
    pub fn new(backend: Arc<RedisBackend>) -> RedisCaptchaStore {
        RedisCaptchaStore {
            backend,
            local: LocalCaptchaStore::default(),
        }
    }
}

#[async_trait::async_trait]
impl CaptchaStore for RedisCaptchaStore {
    async fn put(&self, id: &str, answer: &str, ttl: Duration) -> anyhow::Result<()> {
        let key = self.backend.key(&["captcha", id]);
        let stored = self
            .backend
            .call(|mut conn| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(answer)
                    .arg("EX")
                    .arg(ttl.as_secs().max(1))
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        match stored {
            Some(()) => Ok(()),
            None => self.local.put(id, answer, ttl).await,
        }
    }

    async fn peek(&self, id: &str) -> anyhow::Result<Option<String>> {
        match self.answer("GET", id).await {
            Some(answer) => Ok(Some(answer)),
            // Challenges issued while Redis was down live in this instance.
            None => self.local.peek(id).await,
        }
    }

    async fn take(&self, id: &str) -> anyhow::Result<Option<String>> {
        match self.answer("GETDEL", id).await {
            Some(answer) => Ok(Some(answer)),
            None => self.local.take(id).await,
        }
    }
}

impl RedisCaptchaStore {
    /// The answer of a challenge read with `GET` (peek) or `GETDEL` (take).
    async fn answer(&self, command: &'static str, id: &str) -> Option<String> {
        let key = self.backend.key(&["captcha", id]);
        self.backend
            .call(|mut conn| async move {
                redis::cmd(command)
                    .arg(&key)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await
            .flatten()
    }
}

/// Adaptive-captcha counters: one key per client and hour, expiring after two.
pub struct RedisCounter {
    backend: Arc<RedisBackend>,
    local: LocalCounter,
}

impl RedisCounter {
    pub fn new(backend: Arc<RedisBackend>) -> RedisCounter {
        RedisCounter {
            backend,
            local: LocalCounter::default(),
        }
    }
}

#[async_trait::async_trait]
impl SubmissionCounter for RedisCounter {
    async fn recent(&self, key: &str) -> u32 {
        let (hour, fraction) = current_hour();
        let keys = [
            self.backend.key(&["cnt", key, &(hour - 1).to_string()]),
            self.backend.key(&["cnt", key, &hour.to_string()]),
        ];
        let counts = self
            .backend
            .call(|mut conn| async move {
                redis::cmd("MGET")
                    .arg(&keys[..])
                    .query_async::<Vec<Option<u32>>>(&mut conn)
                    .await
            })
            .await;
        match counts {
            Some(c) => sliding(
                c.first().copied().flatten().unwrap_or(0),
                c.get(1).copied().flatten().unwrap_or(0),
                fraction,
            ),
            None => self.local.recent(key).await,
        }
    }

    async fn record(&self, key: &str) {
        let (hour, _) = current_hour();
        let redis_key = self.backend.key(&["cnt", key, &hour.to_string()]);
        let done = self
            .backend
            .call(|mut conn| async move {
                redis::pipe()
                    .atomic()
                    .incr(&redis_key, 1)
                    .ignore()
                    .expire(&redis_key, 7200)
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if done.is_none() {
            self.local.record(key).await;
        }
    }
}

/// Dedup keys in Redis: a respondent seen by any instance is refused without
/// a database round trip.
pub struct RedisDedup {
    backend: Arc<RedisBackend>,
    local: LocalDedup,
}

impl RedisDedup {
    pub fn new(backend: Arc<RedisBackend>) -> RedisDedup {
        RedisDedup {
            backend,
            local: LocalDedup::default(),
        }
    }
}

#[async_trait::async_trait]
impl DedupCache for RedisDedup {
    async fn seen(&self, key: &str) -> bool {
        let redis_key = self.backend.key(&["dedup", key]);
        let found = self
            .backend
            .call(|mut conn| async move {
                redis::cmd("EXISTS")
                    .arg(&redis_key)
                    .query_async::<u32>(&mut conn)
                    .await
            })
            .await;
        match found {
            Some(n) => n > 0,
            None => self.local.seen(key).await,
        }
    }

    async fn remember(&self, key: &str, ttl: Duration) {
        let redis_key = self.backend.key(&["dedup", key]);
        let done = self
            .backend
            .call(|mut conn| async move {
                redis::cmd("SET")
                    .arg(&redis_key)
                    .arg(1)
                    .arg("EX")
                    .arg(ttl.as_secs().max(1))
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if done.is_none() {
            self.local.remember(key, ttl).await;
        }
    }
}
