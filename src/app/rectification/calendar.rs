//! Working days: Monday to Friday, less the configured public holidays.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Deserializer};

/// Whether `day` is a working day.
pub fn is_working_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// The date `n` working days after `start` (`start` itself does not count),
/// so a task opened on a Friday with `n = 1` is due the next working Monday.
pub fn add_working_days(start: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
    let mut day = start;
    let mut left = n;
    while left > 0 {
        match day.succ_opt() {
            Some(next) => day = next,
            None => return day,
        }
        if is_working_day(day, holidays) {
            left -= 1;
        }
    }
    day
}

/// Accepts a list of dates or a comma-separated string (as environment
/// variables give), each `YYYY-MM-DD`.
pub fn comma_separated_dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                serde::de::Error::custom(format!("'{s}' is not a date (expected YYYY-MM-DD)"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekends_are_skipped() {
        // 2026-11-27 is a Friday.
        assert_eq!(add_working_days(d("2026-11-27"), 1, &[]), d("2026-11-30"));
        assert_eq!(add_working_days(d("2026-11-27"), 5, &[]), d("2026-12-04"));
        assert_eq!(add_working_days(d("2026-11-28"), 0, &[]), d("2026-11-28"));
    }

    #[test]
    fn holidays_are_skipped() {
        let holidays = [d("2026-11-30"), d("2026-12-01")];
        assert_eq!(
            add_working_days(d("2026-11-27"), 1, &holidays),
            d("2026-12-02")
        );
        assert_eq!(add_working_days(d("2026-11-26"), 15, &[]), d("2026-12-17"));
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn dates_parse_from_a_comma_separated_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PINGYI_HOLIDAYS", "2026-10-01, 2026-10-02");
            let settings =
                crate::setup::configuration::Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(settings.holidays, vec![d("2026-10-01"), d("2026-10-02")]);
            jail.set_env("PINGYI_HOLIDAYS", "2026-13-01");
            let err = crate::setup::configuration::Settings::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("2026-13-01"), "{err}");
            Ok(())
        });
    }
}
