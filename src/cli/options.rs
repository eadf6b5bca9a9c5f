//! Parsers for numeric options, so that a bad value is refused by clap naming the option
//! (`invalid value '-1' for '--epochs <EPOCHS>': ...`) and saying why. Numeric options also set
//! `allow_negative_numbers`, so `--lr -1` reaches the real check instead of looking like an
//! unknown option `-1`.

/// Parses a whole number in `min..=max`; the message says which bound was broken.
pub fn count(
    min: usize,
    max: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let t = text.trim();
        let value: usize = match t.parse() {
            Ok(v) => v,
            Err(_) if t.starts_with('-') => {
                return Err(format!("negative; give a whole number from {min} to {max}"));
            }
            Err(_) if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() => {
                return Err(format!("too large; at most {max}"));
            }
            Err(_) => return Err(format!("not a whole number (from {min} to {max})")),
        };
        if value < min {
            return Err(format!("below the minimum of {min}"));
        }
        if value > max {
            return Err(format!("more than the maximum of {max}"));
        }
        Ok(value)
    }
}

/// Most epochs a training run or child may ask for.
pub const MAX_EPOCHS: usize = 100_000;
/// Largest batch an option may ask for (the data and the memory estimate bound it further).
pub const MAX_BATCH: usize = 1 << 20;
/// Most children a search may be given.
pub const MAX_BUDGET: usize = 100_000_000;

/// Longest time limit an option may give: a year, in seconds.
pub const MAX_SECONDS: f64 = 366.0 * 86_400.0;

/// Parses a duration in seconds: a positive number, optionally ending in `s`, `m` or `h`
/// (`90`, `90s`, `30m`, `2.5h`).
pub fn duration_seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("'{t}' is not a duration (seconds, or a number ending in s, m or h)")
    })?;
    let seconds = value * unit;
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("'{t}' is not a positive duration"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!("'{t}' is more than the maximum of a year"));
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::duration_seconds;

    #[test]
    fn durations_take_units_and_refuse_nonsense() {
        assert_eq!(duration_seconds("90"), Ok(90.0));
        assert_eq!(duration_seconds("90s"), Ok(90.0));
        assert_eq!(duration_seconds("30m"), Ok(1800.0));
        assert_eq!(duration_seconds(" 2.5h "), Ok(9000.0));
        for bad in ["", "h", "0", "-5m", "ten", "1e999", "NaN", "400d", "9000h"] {
            assert!(duration_seconds(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
