//! Templates, Fluent message catalogues and static files, compiled into the binary
//! so the release build runs from any working directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::http::header;
use anyhow::Context as _;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{FluentLoader, LanguageIdentifier, langid, static_loader};
use rust_embed::RustEmbed;
use serde::Serialize;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

#[derive(RustEmbed)]
#[folder = "locales/"]
struct LocaleFiles;

#[derive(RustEmbed)]
#[folder = "static/"]
pub struct StaticFiles;

/// The languages every page is offered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The reader's version of a name kept in both languages.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code of the catalogue directory (`locales/<code>/`), the switch
    /// path and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::Zh => langid!("zh"),
            Lang::En => langid!("en"),
        }
    }

    /// The best language for an `Accept-Language` header: the first ranked
    /// tag whose primary language is offered (`zh-TW`, `zh-Hans` → zh;
    /// `en-GB` → en). `*` or nothing offered → none.
    pub fn negotiate(accept: &header::AcceptLanguage) -> Option<Lang> {
        accept.ranked().into_iter().find_map(|pref| match pref {
            header::Preference::Specific(tag) => {
                Lang::parse(&tag.primary_language().to_ascii_lowercase())
            }
            header::Preference::Any => None,
        })
    }
}

// The Fluent catalogues, compiled in. Isolation marks are off: the pages set
// `lang`/`dir` themselves and the marks would show up in copied text.
static_loader! {
    static CATALOGUES = {
        locales: "./locales",
        fallback_language: "zh",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A message key with its Fluent arguments: what Rust code hands to pages
/// (errors, flashes) so they are rendered in the reader's language.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, MessageArg)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MessageArg {
    Text(String),
    Number(f64),
}

impl From<String> for MessageArg {
    fn from(s: String) -> Self {
        MessageArg::Text(s)
    }
}

impl From<&str> for MessageArg {
    fn from(s: &str) -> Self {
        MessageArg::Text(s.to_owned())
    }
}

impl From<i64> for MessageArg {
    #[allow(clippy::cast_precision_loss)] // counts and limits, far below 2^53
    fn from(n: i64) -> Self {
        MessageArg::Number(n as f64)
    }
}

impl From<usize> for MessageArg {
    #[allow(clippy::cast_precision_loss)]
    fn from(n: usize) -> Self {
        MessageArg::Number(n as f64)
    }
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<MessageArg>) -> Message {
        self.args.push((name, value.into()));
        self
    }
}

pub struct Templates {
    tera: tera::Tera,
    /// Every argument-free message of a language, formatted once.
    texts: [HashMap<String, String>; 2],
    /// The same, as the `t` map of pages.
    static_messages: [tera::Value; 2],
}

impl Templates {
    pub fn load() -> anyhow::Result<Templates> {
        let mut tera = tera::Tera::new();
        // Escape every HTML template; the suffix list replaces tera's default.
        tera.autoescape_on([".html.tera"]);
        // Parse and compare the catalogues before the loader first touches
        // them (it would panic on a syntax error).
        let ids = catalogue_ids()?;
        // `{{ fluent(key="page", lang=lang, n=3) }}` for messages with arguments.
        tera.register_function("fluent", FluentLoader::new(&*CATALOGUES));
        let mut sources = Vec::new();
        for name in TemplateFiles::iter() {
            let file =
                TemplateFiles::get(&name).with_context(|| format!("Template {name} vanished"))?;
            let text = String::from_utf8(file.data.into_owned())
                .with_context(|| format!("Template {name} is not UTF-8"))?;
            sources.push((name.to_string(), text));
        }
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| anyhow::anyhow!("Failed to parse the templates: {e}"))?;
        let texts = Lang::ALL.map(|lang| {
            ids.iter()
                .filter_map(|id| {
                    let text = CATALOGUES
                        .lookup_single_language::<&str>(&lang.id(), id, None)
                        .ok()?;
                    Some((id.clone(), text))
                })
                .collect::<HashMap<_, _>>()
        });
        let static_messages = texts
            .each_ref()
            .map(|t| tera::Value::from_serializable(&t.iter().collect::<BTreeMap<_, _>>()));
        Ok(Templates {
            tera,
            texts,
            static_messages,
        })
    }

    /// A message without arguments, or its key when missing (never panics;
    /// the catalogue tests keep keys and catalogues in step).
    pub fn text(&self, lang: Lang, key: &str) -> String {
        self.texts[lang as usize]
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// A message with its arguments, in `lang`.
    pub fn message(&self, lang: Lang, message: &Message) -> String {
        let args: HashMap<&str, FluentValue> = message
            .args
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    MessageArg::Text(s) => FluentValue::from(s.as_str()),
                    MessageArg::Number(n) => FluentValue::from(*n),
                };
                (*name, value)
            })
            .collect();
        CATALOGUES
            .lookup_single_language(&lang.id(), message.key, Some(&args))
            .unwrap_or_else(|_| message.key.to_owned())
    }

    /// Renders a page; `t` (the argument-free messages), `lang`, `path` and
    /// `next` (the path, URL-encoded, for the language switch) are provided.
    pub fn render(
        &self,
        name: &str,
        lang: Lang,
        path: &str,
        context: &impl Serialize,
    ) -> anyhow::Result<String> {
        let mut ctx = tera::Context::from_serialize(context)
            .map_err(|e| anyhow::anyhow!("Failed to build the context of {name}: {e}"))?;
        ctx.insert_value("t", self.static_messages[lang as usize].clone());
        ctx.insert("lang", lang.code());
        ctx.insert("path", path);
        let next = serde_urlencoded::to_string([("", path)]).unwrap_or_default();
        ctx.insert("next", next.trim_start_matches('='));
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!("Failed to render {name}: {e}"))
    }
}

/// The message ids of the catalogues. Both languages must define the same
/// ids, so no page can fall back to the other language or show a bare key.
fn catalogue_ids() -> anyhow::Result<BTreeSet<String>> {
    let mut per_lang = Vec::new();
    for lang in Lang::ALL {
        let mut ids = BTreeSet::new();
        let prefix = format!("{}/", lang.code());
        for name in LocaleFiles::iter().filter(|n| n.starts_with(&prefix)) {
            let file =
                LocaleFiles::get(&name).with_context(|| format!("Locale {name} vanished"))?;
            let text = std::str::from_utf8(&file.data)
                .with_context(|| format!("Locale {name} is not UTF-8"))?;
            let resource = fluent_syntax::parser::parse(text).map_err(|(_, errors)| {
                anyhow::anyhow!("Locale {name} does not parse: {errors:?}")
            })?;
            for entry in resource.body {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    anyhow::ensure!(
                        ids.insert(m.id.name.to_owned()),
                        "Locale {name} defines {} twice",
                        m.id.name
                    );
                }
            }
        }
        per_lang.push((lang, ids));
    }
    let (first_lang, first) = &per_lang[0];
    for (lang, ids) in &per_lang[1..] {
        let missing: Vec<_> = first.symmetric_difference(ids).collect();
        anyhow::ensure!(
            missing.is_empty(),
            "The {} and {} catalogues differ in {missing:?}",
            first_lang.code(),
            lang.code()
        );
    }
    Ok(per_lang.swap_remove(0).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_escape_user_text() -> anyhow::Result<()> {
        let templates = Templates::load()?;
        #[derive(Serialize)]
        struct Ctx {
            title: &'static str,
            text: &'static str,
            link: Option<()>,
        }
        let html = templates.render(
            "citizen/message.html.tera",
            Lang::En,
            "/",
            &Ctx {
                title: "<script>alert(1)</script>",
                text: "x",
                link: None,
            },
        )?;
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>alert"));
        Ok(())
    }

    /// Every message a template names exists in both catalogues, and `t.x`
    /// is only used for messages without arguments (it would show `{ $n }`).
    #[test]
    fn templates_name_only_existing_messages() -> anyhow::Result<()> {
        let ids = catalogue_ids()?;
        let plain = regex_lite_find(r"t\.", |c: char| c.is_ascii_alphanumeric() || c == '_');
        let keyed = regex_lite_find("fluent(key=\"", |c: char| c != '"');
        for name in TemplateFiles::iter() {
            let file = TemplateFiles::get(&name).expect("listed");
            let text = std::str::from_utf8(&file.data)?;
            for id in plain(text) {
                assert!(
                    ids.contains(&id),
                    "{name} uses t.{id}, which no catalogue defines"
                );
                for lang in Lang::ALL {
                    assert!(
                        CATALOGUES
                            .lookup_single_language::<&str>(&lang.id(), &id, None)
                            .is_ok(),
                        "{name} uses t.{id}, but it takes arguments: use fluent()"
                    );
                }
            }
            for id in keyed(text) {
                assert!(
                    ids.contains(&id),
                    "{name} uses fluent(key=\"{id}\"), which no catalogue defines"
                );
            }
        }
        Ok(())
    }

    /// The occurrences of `marker` followed by an id made of `id_char`s,
    /// when the marker does not continue a longer word (`st.x` is not `t.x`).
    fn regex_lite_find(
        marker: &'static str,
        id_char: impl Fn(char) -> bool + Copy,
    ) -> impl Fn(&str) -> Vec<String> {
        move |text: &str| {
            let mut found = Vec::new();
            for (at, _) in text.match_indices(marker) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let id: String = text[at + marker.len()..]
                    .chars()
                    .take_while(|c| id_char(*c))
                    .collect();
                if !id.is_empty() {
                    found.push(id);
                }
            }
            found
        }
    }

    #[test]
    fn messages_take_their_arguments_in_both_languages() -> anyhow::Result<()> {
        let templates = Templates::load()?;
        let m = Message::new("msg_user_password").arg("min", 10_usize);
        assert_eq!(
            templates.message(Lang::En, &m),
            "A password has at least 10 characters."
        );
        assert_eq!(templates.message(Lang::Zh, &m), "密码至少 10 个字符。");
        assert_eq!(
            templates.text(Lang::En, "no_such_message"),
            "no_such_message"
        );
        Ok(())
    }

    #[test]
    fn accept_language_picks_the_first_offered_language() {
        use actix_web::http::header::{AcceptLanguage, Header as _};
        let pick = |value: &str| {
            let req = actix_web::test::TestRequest::default()
                .insert_header(("accept-language", value))
                .to_http_request();
            AcceptLanguage::parse(&req)
                .ok()
                .and_then(|a| Lang::negotiate(&a))
        };
        assert_eq!(pick("en-GB,en;q=0.9"), Some(Lang::En));
        assert_eq!(pick("zh-TW,zh;q=0.9,en;q=0.8"), Some(Lang::Zh));
        assert_eq!(
            pick("fr-FR,en;q=0.5,zh;q=0.9"),
            Some(Lang::Zh),
            "by quality"
        );
        assert_eq!(pick("fr, de;q=0.8"), None);
        assert_eq!(pick("*"), None);
        assert_eq!(pick("garbage;;q=x"), None);
    }
}
