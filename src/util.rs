//! Small helpers shared by every layer.

/// Formats a byte count as B/KiB/MiB/GiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The project's seeded random generator: a fixed algorithm, so seeds reproduce across versions,
/// and serialisable, so a search can checkpoint and resume its random state.
pub type SeededRng = rand::rngs::Xoshiro256PlusPlus;

/// A generator from a 64-bit seed.
pub fn seeded_rng(seed: u64) -> SeededRng {
    use rand::SeedableRng;
    SeededRng::seed_from_u64(seed)
}
