//! The value parsers every subcommand shares, with one error type:
//! durations, the poller backend, the listener mode.

use std::fmt;
use std::time::Duration;

use eddy::poll::Backend;
use eddy::reactor::ListenerMode;

/// A command-line value that does not parse; clap shows its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError(String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// The longest duration any flag takes: 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// What the duration flags' help says they take.
pub const DURATION_FORMAT: &str =
    "a number and a unit: 250ms, 10s, 1.5s, 2m, 1h; a bare number is seconds; at most 365 days";

/// A duration: a non-negative, finite number, then a unit (`ms`, `s`, `m`,
/// `h`; none: seconds), at most [`MAX_DURATION`]. `0` is zero: what it
/// means is up to the flag.
///
/// # Errors
///
/// Not a number, an unknown unit, negative, not finite (`inf`, `NaN`) or
/// longer than [`MAX_DURATION`]: each with a message that says which.
pub fn duration(s: &str) -> Result<Duration, ArgError> {
    let text = s.trim();
    let bad = |why: &str| ArgError(format!("{why} (a duration is {DURATION_FORMAT})"));
    if text.is_empty() {
        return Err(bad("empty duration"));
    }
    let split = text.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let lower = text.to_ascii_lowercase();
    if lower.trim_start_matches(['+', '-']).starts_with("inf")
        || lower.trim_start_matches(['+', '-']).starts_with("nan")
    {
        return Err(bad(&format!("{s:?} is not finite")));
    }
    let scale = match unit {
        "ms" => 1e-3,
        "s" | "" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad(&format!("{s:?} has an unknown unit {unit:?}"))),
    };
    let value: f64 = number.parse().map_err(|_| bad(&format!("{s:?} is not a number of {}", unit_name(unit))))?;
    if value.is_nan() || value.is_infinite() {
        return Err(bad(&format!("{s:?} is not finite")));
    }
    if value < 0.0 || number.starts_with('-') {
        return Err(bad(&format!("{s:?} is negative")));
    }
    let secs = value * scale;
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(bad(&format!("{s:?} is out of range")));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad(&format!("{s:?} is out of range")))
}

fn unit_name(unit: &str) -> &'static str {
    match unit {
        "ms" => "milliseconds",
        "m" => "minutes",
        "h" => "hours",
        _ => "seconds",
    }
}

/// A poller backend: `epoll`, `poll` or `select`.
///
/// # Errors
///
/// Any other name.
pub fn backend(s: &str) -> Result<Backend, ArgError> {
    s.parse().map_err(|e: std::io::Error| ArgError(e.to_string()))
}

/// A listener mode: `reuseport` or `exclusive`.
///
/// # Errors
///
/// Any other name.
pub fn listener(s: &str) -> Result<ListenerMode, ArgError> {
    s.parse().map_err(ArgError)
}

/// The name [`listener`] takes for `mode`.
pub fn listener_name(mode: ListenerMode) -> &'static str {
    match mode {
        ListenerMode::ReusePort => "reuseport",
        ListenerMode::Exclusive => "exclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_and_without_units() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("10s", ms(10_000)),
            ("250ms", ms(250)),
            ("1.5s", ms(1500)),
            ("2m", ms(120_000)),
            ("1h", ms(3_600_000)),
            ("3", ms(3000)),
            ("0.3", ms(300)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (" 7s ", ms(7000)),
            ("1e3ms", ms(1000)),
            ("100ms", ms(100)),
        ] {
            assert_eq!(duration(text), Ok(want), "{text}");
        }
        assert_eq!(duration("31536000"), Ok(MAX_DURATION));
    }

    #[test]
    fn bad_durations_say_why() {
        for (text, why) in [
            ("inf", "not finite"),
            ("-inf", "not finite"),
            ("infinity", "not finite"),
            ("NaN", "not finite"),
            ("nans", "not finite"),
            ("-1", "negative"),
            ("-0.5s", "negative"),
            ("-0", "negative"),
            ("1e300", "out of range"),
            ("1e300ms", "out of range"),
            ("31536001", "out of range"),
            ("99999999999999999999h", "out of range"),
            ("", "empty"),
            ("ten", "unknown unit"),
            ("10x", "unknown unit"),
            ("10 s", "not a number"),
            ("1.2.3s", "not a number"),
            ("s", "not a number"),
        ] {
            let err = duration(text).expect_err(text).to_string();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.contains("a duration is"), "{text:?}: {err}");
        }
    }

    #[test]
    fn backends_and_listener_modes() {
        assert_eq!(backend("poll"), Ok(Backend::Poll));
        assert!(backend("kqueue").unwrap_err().to_string().contains("epoll, poll or select"));
        assert_eq!(listener("exclusive"), Ok(ListenerMode::Exclusive));
        assert!(listener("shared").unwrap_err().to_string().contains("reuseport or exclusive"));
        for mode in [ListenerMode::ReusePort, ListenerMode::Exclusive] {
            assert_eq!(listener(listener_name(mode)), Ok(mode));
        }
    }
}
