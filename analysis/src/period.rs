//! Periods: `YYYY`, `YYYY-Qn` or `YYYY-MM`, strictly.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Granularity {
    Year,
    Quarter,
    Month,
}

impl Granularity {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Granularity::Year => "yearly",
            Granularity::Quarter => "quarterly",
            Granularity::Month => "monthly",
        }
    }
}

/// A well-formed period; `sub` is the quarter or month (0 for a year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Period {
    year: u16,
    granularity: Granularity,
    sub: u8,
}

impl Period {
    pub(crate) fn parse(s: &str) -> Option<Period> {
        let b = s.as_bytes();
        if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let year = b[..4]
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        match b.len() {
            4 => Some(Period {
                year,
                granularity: Granularity::Year,
                sub: 0,
            }),
            7 if b[4] == b'-' && b[5] == b'Q' && (b'1'..=b'4').contains(&b[6]) => Some(Period {
                year,
                granularity: Granularity::Quarter,
                sub: b[6] - b'0',
            }),
            7 if b[4] == b'-' && b[5].is_ascii_digit() && b[6].is_ascii_digit() => {
                let month = (b[5] - b'0') * 10 + (b[6] - b'0');
                (1..=12).contains(&month).then_some(Period {
                    year,
                    granularity: Granularity::Month,
                    sub: month,
                })
            }
            _ => None,
        }
    }

    pub(crate) fn granularity(self) -> Granularity {
        self.granularity
    }

    /// The immediately preceding period of the same granularity.
    pub(crate) fn previous(self) -> Option<Period> {
        let last = match self.granularity {
            Granularity::Year => 0,
            Granularity::Quarter => 4,
            Granularity::Month => 12,
        };
        if self.sub > 1 {
            Some(Period {
                sub: self.sub - 1,
                ..self
            })
        } else {
            self.year.checked_sub(1).map(|year| Period {
                year,
                sub: last,
                ..self
            })
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.granularity {
            Granularity::Year => write!(f, "{:04}", self.year),
            Granularity::Quarter => write!(f, "{:04}-Q{}", self.year, self.sub),
            Granularity::Month => write!(f, "{:04}-{:02}", self.year, self.sub),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prev(s: &str) -> Option<String> {
        Period::parse(s)
            .and_then(Period::previous)
            .map(|p| p.to_string())
    }

    #[test]
    fn well_formed_periods_parse_and_print_back() {
        for s in ["2012", "2012-Q3", "2012-07", "2012-12", "0001-Q1"] {
            assert_eq!(Period::parse(s).map(|p| p.to_string()), Some(s.to_owned()));
        }
    }

    #[test]
    fn malformed_periods_are_refused() {
        for s in [
            "",
            "12",
            "2012-q3",
            "2012-Q5",
            "2012-Q0",
            "2012-7",
            "2012-13",
            "2012-00",
            " 2012",
            "2012 ",
            "2012-Q12",
            "20120",
            "2012/07",
            "２０１２",
        ] {
            assert_eq!(Period::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn previous_period_crosses_year_boundaries() {
        assert_eq!(prev("2012-01").as_deref(), Some("2011-12"));
        assert_eq!(prev("2012-Q1").as_deref(), Some("2011-Q4"));
        assert_eq!(prev("2012").as_deref(), Some("2011"));
        assert_eq!(prev("2012-Q3").as_deref(), Some("2012-Q2"));
        assert_eq!(prev("2012-10").as_deref(), Some("2012-09"));
        assert_eq!(prev("0000"), None);
    }
}
