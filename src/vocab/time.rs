//! Capture timestamps, kept to the nanosecond.

use std::fmt;

/// Nanoseconds since the Unix epoch (UTC).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From seconds and nanoseconds; saturates instead of overflowing.
    pub fn from_parts(secs: i64, nanos: u64) -> Timestamp {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos.min(i64::MAX as u64) as i64),
        )
    }

    /// Nanoseconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Whole seconds since the epoch as RFC 3339 UTC without a fraction
    /// (`2025-01-01T00:00:00Z`), as certificate dates are given.
    pub fn date_of_secs(secs: i64) -> String {
        Timestamp::from_parts(secs, 0)
            .to_string()
            .replace(".000000000Z", "Z")
    }

    /// Seconds since the epoch as a float, for display arithmetic.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (the civil-from-days algorithm of H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with nanoseconds: `2026-01-01T00:00:00.123456789Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_nanoseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29T12:34:56.000000001Z, a leap day.
        let t = Timestamp::from_parts(1_709_210_096, 1);
        assert_eq!(t.to_string(), "2024-02-29T12:34:56.000000001Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
    }
}
