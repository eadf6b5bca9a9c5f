//! IDX files (MNIST, Fashion-MNIST): a header `00 00 08 D` (unsigned bytes, D dimensions), D
//! big-endian u32 sizes, then the data. Images have D = 3 (`N, rows, cols`), labels D = 1.
//! Every field is checked; an error names the file, the byte offset and what was expected.

use super::dataset::Dataset;
use super::error::DataError;
use super::source::FileBytes;

/// IDX type code for unsigned bytes, the only type these datasets use.
const TYPE_U8: u8 = 0x08;

/// Images of one IDX image file: count, rows, cols and the pixel bytes.
#[derive(Debug)]
pub struct IdxImages<'a> {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: &'a [u8],
}

/// Checks the 4-byte magic and returns the dimension sizes that follow it.
fn header(file: &FileBytes, dims: u8, meaning: &str) -> Result<Vec<u64>, DataError> {
    let magic = "the IDX magic 00 00 08 0N (N = number of dimensions)";
    for offset in 0..2 {
        let b = file.byte(offset, magic)?;
        if b != 0 {
            return Err(file.error(
                offset,
                format!("{magic}; byte {offset} must be 00"),
                format!("{b:#04x} (not an IDX file?)"),
            ));
        }
    }
    let kind = file.byte(2, "the IDX type code 0x08 (unsigned bytes)")?;
    if kind != TYPE_U8 {
        return Err(file.error(
            2,
            "the IDX type code 0x08 (unsigned bytes)",
            format!("{kind:#04x}"),
        ));
    }
    let found_dims = file.byte(3, "the IDX dimension count")?;
    if found_dims != dims {
        return Err(file.error(
            3,
            format!("{dims} dimension(s) ({meaning})"),
            format!("{found_dims} dimension(s)"),
        ));
    }
    (0..dims as u64)
        .map(|d| {
            file.u32_be(4 + 4 * d, "a 4-byte dimension size")
                .map(u64::from)
        })
        .collect()
}

/// Checks that the file holds exactly `data` bytes after a `header`-byte header.
fn check_length(file: &FileBytes, header: u64, data: u64, what: &str) -> Result<(), DataError> {
    let total = header.saturating_add(data);
    if file.len() < total {
        return Err(file.error(
            file.len(),
            format!("{what} ({total} bytes in all)"),
            format!(
                "end of file after {} bytes (the file is truncated; fetch it again)",
                file.len()
            ),
        ));
    }
    if file.len() > total {
        return Err(file.error(
            total,
            format!("the end of the file after {what}"),
            format!("{} more bytes", file.len() - total),
        ));
    }
    Ok(())
}

/// Parses an IDX image file (`*-images-idx3-ubyte`).
pub fn parse_images(file: &FileBytes) -> Result<IdxImages<'_>, DataError> {
    let dims = header(file, 3, "images x rows x cols")?;
    let names = ["image count", "row count", "column count"];
    for (d, (&size, name)) in dims.iter().zip(names).enumerate() {
        if size == 0 {
            return Err(file.error(4 + 4 * d as u64, format!("a non-zero {name}"), "0"));
        }
    }
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    // Each size is below 2^32, so the product can overflow u64; saturate (the length check fails).
    let data = count
        .checked_mul(rows)
        .and_then(|x| x.checked_mul(cols))
        .unwrap_or(u64::MAX);
    check_length(
        file,
        16,
        data,
        &format!("{count} images of {rows}x{cols} pixels"),
    )?;
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels: &file.data[16..],
    })
}

/// Parses an IDX label file (`*-labels-idx1-ubyte`), checking every label is `< classes`.
pub fn parse_labels(file: &FileBytes, classes: u32) -> Result<Vec<u32>, DataError> {
    let count = header(file, 1, "labels")?[0];
    if count == 0 {
        return Err(file.error(4, "a non-zero label count", "0"));
    }
    check_length(file, 8, count, &format!("{count} one-byte labels"))?;
    let labels = &file.data[8..];
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l as u32 >= classes)
    {
        return Err(file.error(
            8 + i as u64,
            format!("a label in 0..{classes} (label of image {i})"),
            l.to_string(),
        ));
    }
    Ok(labels.iter().map(|&l| l as u32).collect())
}

/// Reads an image file and its label file into a dataset, checking that the counts agree.
pub fn read_pair(
    name: &str,
    images: &FileBytes,
    labels: &FileBytes,
    classes: u32,
) -> Result<Dataset, DataError> {
    let parsed = parse_images(images)?;
    let label_values = parse_labels(labels, classes)?;
    if parsed.count != label_values.len() {
        return Err(DataError::Mismatch {
            message: format!(
                "{} holds {} images but {} holds {} labels; the two files must come from the \
                 same set",
                images.file.display(),
                parsed.count,
                labels.file.display(),
                label_values.len()
            ),
        });
    }
    Dataset::new(
        name,
        parsed.pixels.to_vec(),
        label_values,
        [1, parsed.rows, parsed.cols],
        classes,
    )
}
