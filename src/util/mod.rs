//! Small helpers shared by every layer.

pub mod date;
pub mod host_memory;
pub mod json_path;
pub mod output;

/// Formats a byte count as B/KiB/MiB/GiB/TiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
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

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the target. Readers see the old file or the new one, never half of one.
pub fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic_write_with(path, bytes, true)
}

/// `atomic_write`, flushing to disk only with `sync`. Without it the replacement is still
/// atomic for every reader and survives a killed process (the rename happens in the page
/// cache); only a crash of the machine can lose it.
pub fn atomic_write_with(path: &std::path::Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
