//! Templates, locale dictionaries and static files, compiled into the binary
//! so the release build runs from any working directory.

use std::collections::BTreeMap;

use anyhow::Context as _;
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

/// The languages the citizen pages are offered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// A locale dictionary: message key → text.
pub type Dictionary = BTreeMap<String, String>;

pub struct Templates {
    tera: tera::Tera,
    zh: tera::Value,
    en: tera::Value,
    zh_dict: Dictionary,
    en_dict: Dictionary,
}

impl Templates {
    pub fn load() -> anyhow::Result<Templates> {
        let mut tera = tera::Tera::new();
        // Escape every HTML template; the suffix list replaces tera's default.
        tera.autoescape_on([".html.tera"]);
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
        let zh_dict = load_dictionary("zh.toml")?;
        let en_dict = load_dictionary("en.toml")?;
        let missing: Vec<&String> = zh_dict
            .keys()
            .filter(|k| !en_dict.contains_key(*k))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "The English dictionary lacks {missing:?}"
        );
        Ok(Templates {
            tera,
            zh: tera::Value::from_serializable(&zh_dict),
            en: tera::Value::from_serializable(&en_dict),
            zh_dict,
            en_dict,
        })
    }

    pub fn dictionary(&self, lang: Lang) -> &Dictionary {
        match lang {
            Lang::Zh => &self.zh_dict,
            Lang::En => &self.en_dict,
        }
    }

    /// A message of the locale, or its key when missing (never panics).
    pub fn text<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        self.dictionary(lang)
            .get(key)
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// Renders a page; `t` (the dictionary), `lang` and `path` are provided.
    pub fn render(
        &self,
        name: &str,
        lang: Lang,
        path: &str,
        context: &impl Serialize,
    ) -> anyhow::Result<String> {
        let mut ctx = tera::Context::from_serialize(context)
            .map_err(|e| anyhow::anyhow!("Failed to build the context of {name}: {e}"))?;
        ctx.insert_value(
            "t",
            match lang {
                Lang::Zh => self.zh.clone(),
                Lang::En => self.en.clone(),
            },
        );
        ctx.insert("lang", lang.code());
        ctx.insert("path", path);
        let next = serde_urlencoded::to_string([("", path)]).unwrap_or_default();
        ctx.insert("next", next.trim_start_matches('='));
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!("Failed to render {name}: {e}"))
    }

    /// Renders a template that needs no locale (error pages).
    pub fn render_plain(&self, name: &str, context: &impl Serialize) -> anyhow::Result<String> {
        let ctx = tera::Context::from_serialize(context)
            .map_err(|e| anyhow::anyhow!("Failed to build the context of {name}: {e}"))?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!("Failed to render {name}: {e}"))
    }
}

fn load_dictionary(name: &str) -> anyhow::Result<Dictionary> {
    let file = LocaleFiles::get(name).with_context(|| format!("Locale {name} is missing"))?;
    let text =
        std::str::from_utf8(&file.data).with_context(|| format!("Locale {name} is not UTF-8"))?;
    toml::from_str(text)
        .with_context(|| format!("Locale {name} is not a flat TOML table of strings"))
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
}
