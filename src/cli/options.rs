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
