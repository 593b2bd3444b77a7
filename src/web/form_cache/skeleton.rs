//! A rendered page taken apart where the per-request values go: rendered
//! once with a marker in each such place, it is kept as the text between the
//! markers, and each view only splices its own values back in.

use std::fmt::Write as _;

/// A place in the questionnaire page that differs between two views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hole {
    /// The CSRF token bound to the device.
    Csrf,
    /// The signed form clock bound to the device.
    Clock,
    /// The one-time ticket code of the link (`?t=`), when there is one.
    Ticket,
    /// The id of the captcha challenge, when one is asked.
    CaptchaId,
}

impl Hole {
    const ALL: [Hole; 4] = [Hole::Csrf, Hole::Clock, Hole::Ticket, Hole::CaptchaId];

    fn digit(self) -> char {
        match self {
            Hole::Csrf => '0',
            Hole::Clock => '1',
            Hole::Ticket => '2',
            Hole::CaptchaId => '3',
        }
    }

    fn from_digit(c: u8) -> Option<Hole> {
        Hole::ALL.into_iter().find(|h| h.digit() as u8 == c)
    }
}

/// The values of the holes for one view. The ticket comes from the query
/// string: every value is escaped as the template engine escapes it.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    pub csrf: String,
    pub clock: String,
    pub ticket: Option<String>,
    pub captcha_id: Option<String>,
}

impl Tokens {
    fn get(&self, hole: Hole) -> &str {
        match hole {
            Hole::Csrf => &self.csrf,
            Hole::Clock => &self.clock,
            Hole::Ticket => self.ticket.as_deref().unwrap_or_default(),
            Hole::CaptchaId => self.captcha_id.as_deref().unwrap_or_default(),
        }
    }
}

/// The markers of this process: letters and digits only, so escaping leaves
/// them intact, and random, so no catalog text can contain one by chance
/// (or by design: an institution's name is typed by staff).
#[derive(Clone, Debug)]
pub struct Markers {
    prefix: String,
}

impl Markers {
    pub fn new() -> Markers {
        let mut prefix = String::from("pyhole");
        for _ in 0..2 {
            let _ = write!(prefix, "{:016x}", rand::random::<u64>());
        }
        Markers { prefix }
    }

    fn marker(&self, hole: Hole) -> String {
        format!("{}{}z", self.prefix, hole.digit())
    }

    /// Tokens that put a marker in every hole the variant has.
    pub fn tokens(&self, ticket: bool, captcha: bool) -> Tokens {
        Tokens {
            csrf: self.marker(Hole::Csrf),
            clock: self.marker(Hole::Clock),
            ticket: ticket.then(|| self.marker(Hole::Ticket)),
            captcha_id: captcha.then(|| self.marker(Hole::CaptchaId)),
        }
    }
}

impl Default for Markers {
    fn default() -> Self {
        Markers::new()
    }
}

enum Part {
    Text(Box<str>),
    Hole(Hole),
}

/// A page with its holes.
pub struct Skeleton {
    parts: Vec<Part>,
    text_len: usize,
}

impl Skeleton {
    /// Takes apart a page rendered with `markers`' tokens; `None` when a
    /// marker is malformed (then the page is not cached).
    pub fn parse(page: &str, markers: &Markers) -> Option<Skeleton> {
        let mut parts = Vec::new();
        let mut rest = page;
        while let Some(at) = rest.find(&markers.prefix) {
            let after = &rest[at + markers.prefix.len()..];
            let (&digit, tail) = after.as_bytes().split_first()?;
            let hole = Hole::from_digit(digit)?;
            if tail.first() != Some(&b'z') {
                return None;
            }
            if at > 0 {
                parts.push(Part::Text(rest[..at].into()));
            }
            parts.push(Part::Hole(hole));
            rest = &after[2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
        }
        let text_len = parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Hole(_) => 0,
            })
            .sum();
        Some(Skeleton { parts, text_len })
    }

    /// The page of one view.
    pub fn fill(&self, tokens: &Tokens) -> String {
        let values = Hole::ALL.map(|h| tokens.get(h).len()).iter().sum::<usize>();
        // Room for the text and each value twice over (escaping grows it).
        let mut page = String::with_capacity(self.text_len + 2 * values + 64);
        for part in &self.parts {
            match part {
                Part::Text(t) => page.push_str(t),
                Part::Hole(h) => push_escaped(&mut page, tokens.get(*h)),
            }
        }
        page
    }

    /// Bytes this skeleton holds, for the cache's budget.
    pub fn weight(&self) -> u64 {
        (self.text_len + self.parts.len() * std::mem::size_of::<Part>() + 64) as u64
    }
}

/// Appends `value` escaped exactly as the template engine escapes it.
fn push_escaped(page: &mut String, value: &str) {
    const SPECIAL: &[u8] = b"&<>\"'";
    if !value.bytes().any(|b| SPECIAL.contains(&b)) {
        // Tokens are base64url or hex: the common case copies as is.
        page.push_str(value);
        return;
    }
    let mut escaped = Vec::with_capacity(value.len() * 2);
    // Writing to a Vec cannot fail.
    let _ = tera::escape_html(value, &mut escaped);
    // Escaping valid text gives valid text.
    page.push_str(&String::from_utf8_lossy(&escaped));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_escaped_values_where_the_markers_were() {
        let m = Markers::new();
        let t = m.tokens(true, false);
        let page = format!(
            "<a>{}</a><i v=\"{}\">{}",
            t.csrf,
            t.clock,
            t.ticket.as_deref().unwrap_or("")
        );
        let s = Skeleton::parse(&page, &m).unwrap_or_else(|| panic!("parses"));
        let view = Tokens {
            csrf: "c1".into(),
            clock: "k\"2".into(),
            ticket: Some("<t>&'".into()),
            captcha_id: None,
        };
        assert_eq!(
            s.fill(&view),
            "<a>c1</a><i v=\"k&quot;2\">&lt;t&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_malformed_marker_is_refused() {
        let m = Markers::new();
        let page = format!("x{}9z", m.prefix);
        assert!(Skeleton::parse(&page, &m).is_none());
        let page = format!("x{}0", m.prefix);
        assert!(Skeleton::parse(&page, &m).is_none());
    }

    #[test]
    fn a_page_without_markers_is_one_text() {
        let m = Markers::new();
        let s = Skeleton::parse("plain", &m).unwrap_or_else(|| panic!("parses"));
        assert_eq!(s.fill(&Tokens::default()), "plain");
    }
}
