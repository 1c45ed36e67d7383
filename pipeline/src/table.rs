//! Internal helpers: reading CSV files as all-string tables with checked, typed column access,
//! and UTC calendar arithmetic.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};

/// Milliseconds in a day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// A CSV file read with every column as a string, so that parsing (and its errors) stay here.
pub(crate) struct CsvTable {
    path: PathBuf,
    df: DataFrame,
}

impl CsvTable {
    /// Reads `path`, strips a UTF-8 byte-order mark from the header and checks that every column
    /// in `required` is present.
    pub(crate) fn read(path: &Path, required: &[&str]) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::MissingFile { path: path.to_path_buf() });
        }
        let csv_err = |source| Error::Csv { path: path.to_path_buf(), source };
        let mut df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|reader| reader.finish())
            .map_err(csv_err)?;
        let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
        for name in &names {
            let clean = name.trim_start_matches('\u{feff}').trim();
            if clean != name {
                df.rename(name, clean.into()).map_err(csv_err)?;
            }
        }
        let table = Self { path: path.to_path_buf(), df };
        for column in required {
            if table.df.column(column).is_err() {
                let found: Vec<String> =
                    table.df.get_column_names().iter().map(|n| n.to_string()).collect();
                return Err(Error::Schema {
                    path: table.path,
                    column: (*column).to_string(),
                    reason: format!("required column is missing (found: {})", found.join(", ")),
                });
            }
        }
        Ok(table)
    }

    /// The file this table was read from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Number of data rows.
    pub(crate) fn len(&self) -> usize {
        self.df.height()
    }

    fn value_error(&self, row: usize, column: &str, value: &str, reason: &str) -> Error {
        Error::Value {
            path: self.path.clone(),
            line: row + 2,
            column: column.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The raw strings of a column, `None` for an empty cell.
    pub(crate) fn optional_strings(&self, column: &str) -> Result<Vec<Option<&str>>> {
        let ca = self.df.column(column).and_then(|c| c.str()).map_err(|e| Error::Schema {
            path: self.path.clone(),
            column: column.to_string(),
            reason: e.to_string(),
        })?;
        Ok(ca.iter().collect())
    }

    /// The raw strings of a column; a missing (empty) cell is an error.
    pub(crate) fn strings(&self, column: &str) -> Result<Vec<&str>> {
        self.optional_strings(column)?
            .into_iter()
            .enumerate()
            .map(|(row, v)| v.ok_or_else(|| self.value_error(row, column, "", "empty value")))
            .collect()
    }

    /// Parses a column with `parse`, which returns `Err(reason)` for a bad value.
    pub(crate) fn parse<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<Vec<T>> {
        self.strings(column)?
            .into_iter()
            .enumerate()
            .map(|(row, v)| {
                parse(v.trim()).map_err(|reason| self.value_error(row, column, v, &reason))
            })
            .collect()
    }

    /// A column of unsigned integers.
    pub(crate) fn u64s(&self, column: &str) -> Result<Vec<u64>> {
        self.parse(column, |s| s.parse::<u64>().map_err(|_| "not an unsigned integer".to_string()))
    }

    /// A column of UTC timestamps (see [`parse_timestamp_ms`]) as milliseconds since the epoch.
    pub(crate) fn timestamps_ms(&self, column: &str) -> Result<Vec<i64>> {
        self.parse(column, |s| {
            parse_timestamp_ms(s)
                .ok_or_else(|| "not a timestamp `YYYY-MM-DD HH:MM:SS[.fff][ UTC]`".to_string())
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day number (inverse of [`days_from_civil`]).
pub(crate) const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` for a day number.
pub(crate) fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day (days since 1970-01-01) containing a millisecond timestamp.
pub(crate) const fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

fn number(s: &str, digits: usize) -> Option<u32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// Parses `YYYY-MM-DD`, as a day number.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) =
        (number(parts.next()?, 4)?, number(parts.next()?, 2)?, number(parts.next()?, 2)?);
    if parts.next().is_some() || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(i64::from(y), m, d);
    // Reject 2021-02-30 and the like: the round trip must give the same date.
    (civil_from_days(day) == (i64::from(y), m, d)).then_some(day)
}

/// Parses a UTC timestamp `YYYY-MM-DD HH:MM:SS` (or `H:MM:SS`), optionally with a fraction of a second
/// (`.000`, truncated to milliseconds) and a trailing ` UTC`, as milliseconds since the epoch.
pub(crate) fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let s = s.strip_suffix(" UTC").unwrap_or(s);
    let (date, time) = s.split_once([' ', 'T'])?;
    let day = parse_date(date)?;
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut parts = hms.split(':');
    // The hour may have one digit: the ETH-B parameter file writes `2023-01-26 3:03:11`.
    let hour = parts.next()?;
    let h = number(hour, 2).or_else(|| number(hour, 1))?;
    let (mi, sec) = (number(parts.next()?, 2)?, number(parts.next()?, 2)?);
    if parts.next().is_some() || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let f3: String = f.chars().chain("00".chars()).take(3).collect();
            i64::from(number(&f3, 3)?)
        }
        Some(_) => return None,
    };
    Some(day * MS_PER_DAY + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec)) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for (date, day) in [
            ("1970-01-01", 0),
            ("1969-12-31", -1),
            ("2000-02-29", 11_016),
            ("2020-10-19", 18_554),
            ("2023-01-13", 19_370),
        ] {
            assert_eq!(parse_date(date), Some(day), "{date}");
            assert_eq!(format_day(day), date);
        }
        for bad in ["2021-02-29", "2021-13-01", "2021-00-10", "21-01-01", "2021-1-01", "x"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        let day = 18_651; // 2021-01-24
        let cases = [
            ("2021-01-24 00:00:00.000", Some(day * MS_PER_DAY)),
            ("2021-01-24 22:04:28.000", Some(day * MS_PER_DAY + 79_468_000)),
            ("2021-01-24 22:04:28.5", Some(day * MS_PER_DAY + 79_468_500)),
            ("2021-01-24 23:59:59.9999", Some((day + 1) * MS_PER_DAY - 1)),
            ("2021-01-24 00:00:00 UTC", Some(day * MS_PER_DAY)),
            ("2021-01-24 00:05:11 UTC", Some(day * MS_PER_DAY + 311_000)),
            ("2021-01-24 3:03:11", Some(day * MS_PER_DAY + 10_991_000)),
            ("2021-01-24 24:00:00", None),
            ("2021-01-24 003:03:11", None),
            ("2021-01-24 10:00", None),
            ("2021-01-24 10:00:00.", None),
            ("2021-01-24", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_timestamp_ms(s), want, "{s}");
        }
        assert_eq!(day_of_ms(-1), -1);
        assert_eq!(day_of_ms(MS_PER_DAY), 1);
    }
}
