//! Names in the reader's language for the codes the store keys things by
//! (categories, districts, institutions, dimensions). Pages show a person
//! names, never codes; a code without a name (a dimension the office has
//! not named yet) is shown as itself rather than hidden.

use serde_json::{Map, Value};

use crate::db::catalog::{Catalog, Named};
use crate::web::i18n::Lang;

/// The name in `lang`; the Chinese name where the English one is empty
/// (it is optional in the catalog forms).
pub fn pick<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if lang == Lang::En && !en.trim().is_empty() {
        en
    } else {
        zh
    }
}

/// Looks codes up in a catalog, in one language.
#[derive(Clone, Copy)]
pub struct Names<'a> {
    pub catalog: &'a Catalog,
    pub lang: Lang,
}

impl<'a> Names<'a> {
    pub fn new(catalog: &'a Catalog, lang: Lang) -> Names<'a> {
        Names { catalog, lang }
    }

    fn of(&self, named: Option<&Named>, code: &str) -> String {
        named.map_or_else(
            || code.to_owned(),
            |n| pick(self.lang, &n.name_zh, &n.name_en).to_owned(),
        )
    }

    pub fn category(&self, code: &str) -> String {
        let c = self.catalog.category_index(code);
        self.of(c.map(|i| &self.catalog.categories[i]), code)
    }

    pub fn district(&self, code: &str) -> String {
        let d = self.catalog.district_index(code);
        self.of(d.map(|i| &self.catalog.districts[i]), code)
    }

    pub fn dimension(&self, code: &str) -> String {
        self.of(self.catalog.dimension(code), code)
    }

    pub fn institution(&self, code: &str) -> String {
        self.catalog.institution(code).map_or_else(
            || code.to_owned(),
            |i| pick(self.lang, &i.name_zh, &i.name_en).to_owned(),
        )
    }

    /// `{category: {code: name}, district: …, dimension: …, institution: …}`
    /// for templates: `names.dimension[d.code] | default(value=d.code)`.
    pub fn to_json(&self) -> Value {
        let map = |list: &[Named]| -> Value {
            Value::Object(
                list.iter()
                    .map(|n| {
                        let name = pick(self.lang, &n.name_zh, &n.name_en);
                        (n.code.clone(), Value::String(name.to_owned()))
                    })
                    .collect::<Map<_, _>>(),
            )
        };
        let institutions = self
            .catalog
            .institutions
            .iter()
            .map(|i| {
                let name = pick(self.lang, &i.name_zh, &i.name_en);
                (i.code.clone(), Value::String(name.to_owned()))
            })
            .collect::<Map<_, _>>();
        let mut all = Map::new();
        all.insert("category".into(), map(&self.catalog.categories));
        all.insert("district".into(), map(&self.catalog.districts));
        all.insert("dimension".into(), map(&self.catalog.dimensions));
        all.insert("institution".into(), Value::Object(institutions));
        Value::Object(all)
    }
}
