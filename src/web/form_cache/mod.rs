//! Questionnaire pages kept rendered.
//!
//! Two citizens who open the same questionnaire get the same page apart from
//! a few values bound to their device (the CSRF token and the form clock) or
//! to their request (a ticket code, a captcha id). So the page is rendered
//! once per institution, questionnaire version, language and variant (with
//! or without ticket, with or without captcha), kept as a [`Skeleton`], and
//! each view splices its values in: the template engine runs once instead of
//! on every view.
//!
//! Keys carry the catalog's generation, which grows whenever the office
//! changes the catalog (on the instance that made the change at once, on the
//! other instances of a cluster at their next catalog refresh): a page of an
//! old catalog is never served, and the old pages are dropped when a newer
//! generation is first seen. Memory is bounded by `form_cache_bytes`.

pub mod skeleton;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::Mutex;

pub use skeleton::{Markers, Skeleton, Tokens};

use crate::web::i18n::Lang;

/// What a cached page depends on besides the per-view values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FormKey {
    /// The catalog snapshot the page was rendered from.
    pub generation: u64,
    pub institution: i32,
    pub questionnaire: i32,
    pub version: i32,
    pub lang: Lang,
    pub ticket: bool,
    pub captcha: bool,
}

/// The pages and the bytes they hold, least recently used first out.
struct Pages {
    lru: LruCache<FormKey, Arc<Skeleton>>,
    bytes: u64,
    budget: u64,
}

impl Pages {
    fn insert(&mut self, key: FormKey, page: Arc<Skeleton>) {
        if page.weight() > self.budget {
            return;
        }
        self.bytes += page.weight();
        if let Some((_, old)) = self.lru.push(key, page) {
            self.bytes -= old.weight();
        }
        while self.bytes > self.budget {
            match self.lru.pop_lru() {
                Some((_, dropped)) => self.bytes -= dropped.weight(),
                None => break,
            }
        }
        self.report();
    }

    fn clear(&mut self) {
        self.lru.clear();
        self.bytes = 0;
        self.report();
    }

    fn report(&self) {
        metrics::gauge!("pingyi_form_cache_bytes").set(self.bytes as f64);
        metrics::gauge!("pingyi_form_cache_entries").set(self.lru.len() as f64);
    }
}

pub struct FormCache {
    /// `None` when `form_cache_bytes` is 0.
    pages: Option<Mutex<Pages>>,
    /// The newest catalog generation seen.
    generation: AtomicU64,
    markers: Markers,
}

impl FormCache {
    pub fn new(budget_bytes: u64) -> FormCache {
        let pages = (budget_bytes > 0).then(|| {
            Mutex::new(Pages {
                lru: LruCache::unbounded(),
                bytes: 0,
                budget: budget_bytes,
            })
        });
        FormCache {
            pages,
            generation: AtomicU64::new(0),
            markers: Markers::new(),
        }
    }

    /// The page of `key` with this view's `tokens` in it. On a miss, `render`
    /// is called with marker tokens and its page is kept. `None` when the
    /// cache is off, the key's catalog is older than one already seen (a
    /// request that began before a reload), or the page could not be taken
    /// apart: the caller then renders from scratch.
    pub fn page(
        &self,
        key: FormKey,
        tokens: &Tokens,
        render: impl FnOnce(&Tokens) -> anyhow::Result<String>,
    ) -> anyhow::Result<Option<String>> {
        let Some(pages) = &self.pages else {
            return Ok(None);
        };
        let seen = self.generation.fetch_max(key.generation, Ordering::AcqRel);
        if key.generation < seen {
            return Ok(None);
        }
        if key.generation > seen {
            // The first view of a new catalog drops the pages of the old one.
            pages.lock().clear();
        }
        // The lock is held only to look up; splicing happens outside it.
        let hit = pages.lock().lru.get(&key).cloned();
        if let Some(page) = hit {
            metrics::counter!("pingyi_form_cache_total", "outcome" => "hit").increment(1);
            return Ok(Some(page.fill(tokens)));
        }
        metrics::counter!("pingyi_form_cache_total", "outcome" => "miss").increment(1);
        let marked = render(&self.markers.tokens(key.ticket, key.captcha))?;
        let Some(skeleton) = Skeleton::parse(&marked, &self.markers) else {
            tracing::warn!("A questionnaire page could not be taken apart; rendering it per view");
            return Ok(None);
        };
        let skeleton = Arc::new(skeleton);
        pages.lock().insert(key, skeleton.clone());
        Ok(Some(skeleton.fill(tokens)))
    }

    /// Bytes and pages held now.
    pub fn usage(&self) -> (u64, usize) {
        self.pages.as_ref().map_or((0, 0), |p| {
            let p = p.lock();
            (p.bytes, p.lru.len())
        })
    }
}
