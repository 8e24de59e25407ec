use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date that may be known only to the year or month, as sources often give them.
/// Serialized as ISO 8601 text: `2021`, `2021-02`, `2021-02-27`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_from_name(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    if l.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| l.starts_with(m))
        .map(|i| i as u8 + 1)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl PartialDate {
    pub fn ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        if !(1000..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(PartialDate {
            year,
            month: Some(month),
            day: Some(day),
        })
    }
    fn ym(year: i32, month: u8) -> Option<Self> {
        ((1000..=9999).contains(&year) && (1..=12).contains(&month)).then_some(PartialDate {
            year,
            month: Some(month),
            day: None,
        })
    }
    fn y(year: i32) -> Option<Self> {
        (1000..=9999).contains(&year).then_some(PartialDate {
            year,
            month: None,
            day: None,
        })
    }

    /// Reads the date formats found in real dumps: ISO (`2012-06-29`, `2012-06-29T10:00:00Z`,
    /// `2012/06/29`, `20120629`, `2012-06`, `2012`), Java's `Date.toString()`
    /// (`Wed Dec 06 00:00:00 GMT 2017`), `06-Dec-2017 10:00:00`, `06 Dec 2017`,
    /// PubMed's `2021 Feb 27` and `Feb 2021`. Returns None for anything else.
    pub fn parse(raw: &str) -> Option<PartialDate> {
        let s = raw.trim();
        if s.is_empty() {
            return None;
        }
        let b = s.as_bytes();
        // ISO family: starts with four digits.
        if b.len() >= 4 && b[..4].iter().all(u8::is_ascii_digit) {
            let year: i32 = s[..4].parse().ok()?;
            if b.len() == 4 {
                return Self::y(year);
            }
            if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
                return Self::ymd(year, s[4..6].parse().ok()?, s[6..8].parse().ok()?);
            }
            let sep = b[4];
            if sep == b'-' || sep == b'/' || sep == b'.' {
                let rest = &s[5..];
                let mut parts = rest.splitn(2, sep as char);
                let m = parts.next()?;
                let m: u8 = m.parse().ok()?;
                match parts.next() {
                    None => return Self::ym(year, m),
                    Some(d) => {
                        let dd: String = d.chars().take_while(char::is_ascii_digit).collect();
                        let tail = &d[dd.len()..];
                        if dd.is_empty() || !(tail.is_empty() || tail.starts_with(['T', ' ', 't']))
                        {
                            return None;
                        }
                        return Self::ymd(year, m, dd.parse().ok()?);
                    }
                }
            }
            // PubMed: "2021 Feb 27", "2021 Feb", "2021 Spring"
            let words: Vec<&str> = s.split_whitespace().collect();
            if words[0].len() == 4 {
                return match words.len() {
                    1 => Self::y(year),
                    _ => match month_from_name(words[1]) {
                        Some(m) => match words.get(2).and_then(|d| d.parse::<u8>().ok()) {
                            Some(d) => Self::ymd(year, m, d),
                            None => Self::ym(year, m),
                        },
                        None => Self::y(year),
                    },
                };
            }
            return None;
        }
        // Two-digit years in ISO order (`13-01-15`, Metabolomics Workbench): yy-mm-dd, 20yy
        // below 70. Read, and reported as non-standard by validators.
        if b.len() == 8
            && b[2] == b'-'
            && b[5] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
        {
            let yy: i32 = s[..2].parse().ok()?;
            let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
            return Self::ymd(year, s[3..5].parse().ok()?, s[6..8].parse().ok()?);
        }
        let words: Vec<&str> = s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .collect();
        // Java Date.toString(): "Wed Dec 06 00:00:00 GMT 2017"
        if words.len() == 6 && month_from_name(words[1]).is_some() && words[3].contains(':') {
            return Self::ymd(
                words[5].parse().ok()?,
                month_from_name(words[1])?,
                words[2].parse().ok()?,
            );
        }
        // "06-Dec-2017 10:00:00" or "06-Dec-2017"
        if let Some(first) = words.first() {
            let dmy: Vec<&str> = first.split('-').collect();
            if dmy.len() == 3 {
                if let (Ok(d), Some(m), Ok(y)) = (
                    dmy[0].parse::<u8>(),
                    month_from_name(dmy[1]),
                    dmy[2].parse::<i32>(),
                ) {
                    return Self::ymd(y, m, d);
                }
            }
        }
        match words.as_slice() {
            // "06 Dec 2017"
            [d, m, y] if d.parse::<u8>().is_ok() => {
                Self::ymd(y.parse().ok()?, month_from_name(m)?, d.parse().ok()?)
            }
            // "Dec 06 2017"
            [m, d, y] if month_from_name(m).is_some() => {
                Self::ymd(y.parse().ok()?, month_from_name(m)?, d.parse().ok()?)
            }
            // "Feb 2021"
            [m, y] if month_from_name(m).is_some() => {
                Self::ym(y.parse().ok()?, month_from_name(m)?)
            }
            _ => None,
        }
    }

    /// The first day this date can mean, for comparisons and sorting.
    pub fn to_ymd(&self) -> (i32, u8, u8) {
        (self.year, self.month.unwrap_or(1), self.day.unwrap_or(1))
    }

    /// Days since 1970-01-01 of the first day this date can mean.
    pub fn days_since_epoch(&self) -> i64 {
        let (y, m, d) = self.to_ymd();
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y } as i64;
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = m as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PartialDate::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid date {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect: Option<&str>) {
        assert_eq!(
            PartialDate::parse(raw).map(|d| d.to_string()).as_deref(),
            expect,
            "{raw}"
        );
    }

    #[test]
    fn real_formats() {
        check("2012-06-29", Some("2012-06-29"));
        check("2012-06-29T10:11:12Z", Some("2012-06-29"));
        check("2012/6/9", Some("2012-06-09"));
        check("20120629", Some("2012-06-29"));
        check("2012-06", Some("2012-06"));
        check("2012", Some("2012"));
        check("Wed Dec 06 00:00:00 GMT 2017", Some("2017-12-06"));
        check("06-Dec-2017 10:00:00", Some("2017-12-06"));
        check("2021 Feb 27", Some("2021-02-27"));
        check("2021 Feb", Some("2021-02"));
        check("Feb 2021", Some("2021-02"));
        check("27 Feb 2021", Some("2021-02-27"));
        check("13-01-15", Some("2013-01-15"));
    }

    #[test]
    fn rejects_nonsense() {
        check("", None);
        check("yesterday", None);
        check("2021-02-30", None);
        check("2021-13-01", None);
        check("12/31", None);
    }

    #[test]
    fn epoch_days() {
        assert_eq!(
            PartialDate::parse("1970-01-01").unwrap().days_since_epoch(),
            0
        );
        assert_eq!(
            PartialDate::parse("2000-03-01").unwrap().days_since_epoch(),
            11017
        );
    }
}
