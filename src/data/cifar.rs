//! CIFAR-10 and CIFAR-100 binary files: fixed-size records, no header. A CIFAR-10 record is one
//! label byte and 3072 pixel bytes (`[3, 32, 32]`, already channel-planar); a CIFAR-100 record is
//! a coarse and a fine label byte, then the pixels. We use the fine label (100 classes).

use super::dataset::{Dataset, Format};
use super::error::{DataError, argument};
use super::source::FileBytes;

/// Channels, rows, cols of every CIFAR image.
pub const CIFAR_SHAPE: [usize; 3] = [3, 32, 32];
const PIXELS: usize = 3 * 32 * 32;
/// Classes of the CIFAR-100 coarse label, checked though unused.
const COARSE_CLASSES: u8 = 20;

/// Label bytes per record and number of (fine) classes of a CIFAR format.
fn layout(format: Format) -> Result<(usize, u32), DataError> {
    match format {
        Format::Cifar10 => Ok((1, 10)),
        Format::Cifar100 => Ok((2, 100)),
        Format::Idx | Format::ImageFolder => Err(argument("not a CIFAR format")),
    }
}

/// Parses one CIFAR binary file into pixels `[N, 3, 32, 32]` and labels, appending to the
/// vectors so that several batch files make one dataset.
pub fn parse_file(
    file: &FileBytes,
    format: Format,
    images: &mut Vec<u8>,
    labels: &mut Vec<u32>,
) -> Result<(), DataError> {
    let (label_bytes, classes) = layout(format)?;
    let record = label_bytes + PIXELS;
    let sizes = match format {
        Format::Cifar10 => "each CIFAR-10 file holds 10000",
        _ => "CIFAR-100's train.bin holds 50000, test.bin 10000",
    };
    let what = format!(
        "{label_bytes} label byte(s) and {PIXELS} pixel bytes ({record}-byte records; {sizes})"
    );
    if file.is_empty() {
        return Err(file.error(0, format!("a record of {what}"), "an empty file"));
    }
    let whole = file.data.len() / record;
    let rest = file.data.len() % record;
    if rest != 0 {
        return Err(file.error(
            (whole * record) as u64,
            format!("record {whole} of {what}"),
            format!("only {rest} bytes before the end of the file (the file is truncated; fetch it again)"),
        ));
    }
    images.reserve(whole * PIXELS);
    labels.reserve(whole);
    for (r, rec) in file.data.chunks_exact(record).enumerate() {
        let start = (r * record) as u64;
        if format == Format::Cifar100 && rec[0] >= COARSE_CLASSES {
            return Err(file.error(
                start,
                format!("a coarse label in 0..{COARSE_CLASSES} (record {r})"),
                rec[0].to_string(),
            ));
        }
        let fine = rec[label_bytes - 1];
        if fine as u32 >= classes {
            return Err(file.error(
                start + label_bytes as u64 - 1,
                format!("a label in 0..{classes} (record {r})"),
                fine.to_string(),
            ));
        }
        labels.push(fine as u32);
        images.extend_from_slice(&rec[label_bytes..]);
    }
    Ok(())
}

/// Reads several CIFAR files (e.g. `data_batch_1.bin` .. `data_batch_5.bin`) into one dataset.
pub fn read_files(name: &str, files: &[FileBytes], format: Format) -> Result<Dataset, DataError> {
    let (_, classes) = layout(format)?;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        parse_file(file, format, &mut images, &mut labels)?;
    }
    Dataset::new(name, images, labels, CIFAR_SHAPE, classes)
}
