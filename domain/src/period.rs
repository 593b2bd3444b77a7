//! Collection periods: `YYYY`, `YYYY-Qn` or `YYYY-MM`, strictly formatted as in
//! the indicator spec. This is the one grammar of a period: the service, the
//! uploads and the analysis crate all parse through [`Period::from_str`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};

/// How long a collection period lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// The adjective messages use: "monthly", "quarterly", "yearly".
    pub fn adjective(self) -> &'static str {
        match self {
            Granularity::Month => "monthly",
            Granularity::Quarter => "quarterly",
            Granularity::Year => "yearly",
        }
    }

    /// How a period of this granularity is written, for messages.
    pub fn format(self) -> &'static str {
        match self {
            Granularity::Month => "YYYY-MM",
            Granularity::Quarter => "YYYY-Qn",
            Granularity::Year => "YYYY",
        }
    }
}

/// A well-formed period. The only ways in are [`Period::from_str`] and
/// [`Period::containing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u8),
    Month(i32, u8),
}

impl Period {
    /// The period of the given granularity that contains `at` in local time.
    pub fn containing(at: DateTime<Utc>, granularity: Granularity, utc_offset_hours: i8) -> Period {
        let offset =
            FixedOffset::east_opt(i32::from(utc_offset_hours) * 3600).unwrap_or_else(|| Utc.fix());
        let local = at.with_timezone(&offset);
        let (year, month) = (local.year(), local.month() as u8);
        match granularity {
            Granularity::Year => Period::Year(year),
            Granularity::Quarter => Period::Quarter(year, (month - 1) / 3 + 1),
            Granularity::Month => Period::Month(year, month),
        }
    }

    pub fn granularity(&self) -> Granularity {
        match self {
            Period::Year(_) => Granularity::Year,
            Period::Quarter(..) => Granularity::Quarter,
            Period::Month(..) => Granularity::Month,
        }
    }

    /// A stable number naming the period for database advisory locks
    /// (within a namespace of Pingyi's own).
    pub fn lock_key(&self) -> i64 {
        const NAMESPACE: i64 = 0x5049_4E47_0000_0000; // "PING"
        let local = match *self {
            Period::Year(y) => i64::from(y) * 1000,
            Period::Quarter(y, q) => i64::from(y) * 1000 + 100 + i64::from(q),
            Period::Month(y, m) => i64::from(y) * 1000 + 200 + i64::from(m),
        };
        NAMESPACE + local
    }

    /// The immediately preceding period of the same granularity.
    pub fn previous(&self) -> Period {
        match *self {
            Period::Year(y) => Period::Year(y - 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
        }
    }

    /// The preceding period, or None when it would fall before year 0000
    /// and so could not be written as `YYYY` (the analysis crate reads
    /// periods from files, where `0000` is well formed).
    pub fn checked_previous(&self) -> Option<Period> {
        let previous = self.previous();
        let year = match previous {
            Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) => y,
        };
        (year >= 0).then_some(previous)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y:04}"),
            Period::Quarter(y, q) => write!(f, "{y:04}-Q{q}"),
            Period::Month(y, m) => write!(f, "{y:04}-{m:02}"),
        }
    }
}

/// Why a text is not a period.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a period (expected YYYY, YYYY-Qn or YYYY-MM)")]
pub struct PeriodError(pub String);

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PeriodError(s.to_owned());
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let (year_text, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if year_text.len() != 4 || !digits(year_text) {
            return Err(err());
        }
        let year: i32 = year_text.parse().map_err(|_| err())?;
        match rest {
            None => Ok(Period::Year(year)),
            Some(r) if r.len() == 2 && r.starts_with('Q') => match r.as_bytes()[1] {
                q @ b'1'..=b'4' => Ok(Period::Quarter(year, q - b'0')),
                _ => Err(err()),
            },
            Some(r) if r.len() == 2 && digits(r) => {
                let month: u8 = r.parse().map_err(|_| err())?;
                if (1..=12).contains(&month) {
                    Ok(Period::Month(year, month))
                } else {
                    Err(err())
                }
            }
            Some(_) => Err(err()),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn well_formed_periods_round_trip() {
        for text in [
            "2012", "2012-Q3", "2012-07", "1999-12", "2012-12", "0001-Q1",
        ] {
            assert_eq!(
                text.parse::<Period>().map(|p| p.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn malformed_periods_are_refused() {
        for text in [
            "12",
            "2012-q3",
            "2012-7",
            "2012-13",
            "2012-00",
            "2012-Q5",
            "2012-Q0",
            "2012-",
            " 2012",
            "2012-Q1 ",
            "２０１２",
            "",
            "2012 ",
            "2012-Q12",
            "20120",
            "2012/07",
        ] {
            assert!(text.parse::<Period>().is_err(), "{text}");
        }
    }

    #[test]
    fn previous_crosses_year_boundaries() {
        assert_eq!(Period::Month(2012, 1).previous(), Period::Month(2011, 12));
        assert_eq!(
            Period::Quarter(2012, 1).previous(),
            Period::Quarter(2011, 4)
        );
        assert_eq!(Period::Year(2012).previous(), Period::Year(2011));
    }

    #[test]
    fn checked_previous_stops_at_year_zero() {
        let prev = |s: &str| {
            s.parse::<Period>()
                .ok()
                .and_then(|p| p.checked_previous())
                .map(|p| p.to_string())
        };
        assert_eq!(prev("2012-01").as_deref(), Some("2011-12"));
        assert_eq!(prev("2012-Q3").as_deref(), Some("2012-Q2"));
        assert_eq!(prev("0001").as_deref(), Some("0000"));
        assert_eq!(prev("0000"), None);
        assert_eq!(prev("0000-Q1"), None);
        assert_eq!(prev("0000-01"), None);
        assert_eq!(prev("0000-02").as_deref(), Some("0000-01"));
    }

    #[test]
    fn granularities_name_themselves_and_their_format() {
        assert_eq!(Granularity::Quarter.adjective(), "quarterly");
        assert_eq!(Granularity::Month.format(), "YYYY-MM");
        assert_eq!(Granularity::Year.format(), "YYYY");
    }

    #[test]
    fn local_time_decides_the_period() {
        // 2024-03-31 20:00 UTC is already April 1st in China.
        let at = Utc
            .with_ymd_and_hms(2024, 3, 31, 20, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(
            Period::containing(at, Granularity::Month, 8),
            Period::Month(2024, 4)
        );
        assert_eq!(
            Period::containing(at, Granularity::Quarter, 8),
            Period::Quarter(2024, 2)
        );
        assert_eq!(
            Period::containing(at, Granularity::Month, 0),
            Period::Month(2024, 3)
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,12}") {
            let _ = text.parse::<Period>();
        }

        #[test]
        fn every_period_round_trips_through_its_text(year in 1000i32..=9999, sub in 0u8..=16) {
            let period = match sub {
                0 => Period::Year(year),
                1..=4 => Period::Quarter(year, sub),
                m => Period::Month(year, m - 4),
            };
            prop_assert_eq!(period.to_string().parse::<Period>(), Ok(period));
        }

        #[test]
        fn previous_is_one_step_back(year in 1001i32..=9999, month in 1u8..=12) {
            let p = Period::Month(year, month);
            prop_assert!(p.previous() < p);
            prop_assert_eq!(p.previous().granularity(), Granularity::Month);
        }
    }
}
