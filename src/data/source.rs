//! The bytes of one data file, read from disk or memory and gunzipped when compressed, with the
//! name and offsets that error messages need. Sizes are bounded so no input can exhaust memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::error::DataError;

/// Largest file (after decompression) we accept: well above CIFAR-100's 154 MB training file,
/// well below what a decompression bomb would need to exhaust memory.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One data file's decompressed bytes.
#[derive(Debug, Clone)]
pub struct FileBytes {
    /// The path (or, for embedded files, the name) that error messages show.
    pub file: PathBuf,
    /// The file was gzip-compressed; offsets in errors are into the decompressed data.
    pub compressed: bool,
    /// The decompressed content.
    pub data: Vec<u8>,
}

impl FileBytes {
    /// Reads a file from disk, gunzipping it when its name ends in `.gz` or it starts with the
    /// gzip signature.
    pub fn read(path: &Path) -> Result<FileBytes, DataError> {
        let io = |e: std::io::Error| DataError::Io {
            file: path.to_path_buf(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            // A link that leads nowhere (or in a loop) exists, so it is not "missing".
            if path.symlink_metadata().is_ok() {
                DataError::Io {
                    file: path.to_path_buf(),
                    reason: format!("a symbolic link that cannot be followed ({e})"),
                }
            } else {
                io(e)
            }
        })?;
        if meta.is_dir() {
            return Err(DataError::Io {
                file: path.to_path_buf(),
                reason: "is a directory, not a data file".to_string(),
            });
        }
        let size = meta.len();
        if size > MAX_FILE_BYTES {
            return Err(DataError::Io {
                file: path.to_path_buf(),
                reason: format!(
                    "file is {size} bytes, more than the {MAX_FILE_BYTES}-byte limit for one data file"
                ),
            });
        }
        let raw = std::fs::read(path).map_err(io)?;
        FileBytes::from_memory(path, &raw)
    }

    /// Wraps bytes already in memory (embedded assets, tests), gunzipping them when needed.
    pub fn from_memory(file: impl Into<PathBuf>, raw: &[u8]) -> Result<FileBytes, DataError> {
        let file = file.into();
        let named_gz = file.extension().is_some_and(|e| e == "gz");
        let has_magic = raw.starts_with(&GZIP_MAGIC);
        if !named_gz && !has_magic {
            return Ok(FileBytes {
                file,
                compressed: false,
                data: raw.to_vec(),
            });
        }
        if !has_magic {
            let start: Vec<String> = raw.iter().take(2).map(|b| format!("{b:02x}")).collect();
            return Err(DataError::Gzip {
                file,
                reason: format!(
                    "it does not start with the gzip signature 1f 8b but with [{}]",
                    start.join(" ")
                ),
            });
        }
        let data = gunzip(&file, raw)?;
        Ok(FileBytes {
            file,
            compressed: true,
            data,
        })
    }

    /// Number of decompressed bytes.
    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// True when the file holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A format error at `offset` of this file.
    pub fn error(
        &self,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> DataError {
        DataError::Format {
            file: self.file.clone(),
            offset,
            compressed: self.compressed,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// The byte at `offset`; a truncation error naming `what` when the file is shorter.
    pub fn byte(&self, offset: u64, what: &str) -> Result<u8, DataError> {
        self.data
            .get(offset as usize)
            .copied()
            .ok_or_else(|| self.truncated(offset, what))
    }

    /// The big-endian u32 at `offset` (IDX header fields).
    pub fn u32_be(&self, offset: u64, what: &str) -> Result<u32, DataError> {
        let end = offset + 4;
        if end > self.len() {
            return Err(self.truncated(offset, what));
        }
        let b = &self.data[offset as usize..end as usize];
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The error for a file that ends before `offset` + the bytes of `what`.
    pub fn truncated(&self, offset: u64, what: &str) -> DataError {
        self.error(
            offset.min(self.len()),
            what,
            format!(
                "end of file (the file has only {} bytes; it is truncated, fetch it again)",
                self.len()
            ),
        )
    }
}

/// Decompresses a whole gzip stream (all members), refusing output beyond `MAX_FILE_BYTES`.
fn gunzip(file: &Path, raw: &[u8]) -> Result<Vec<u8>, DataError> {
    let mut data = Vec::new();
    let result = MultiGzDecoder::new(raw)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data);
    if let Err(e) = result {
        return Err(DataError::Gzip {
            file: file.to_path_buf(),
            reason: format!("{e}, after {} decompressed bytes", data.len()),
        });
    }
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(DataError::Gzip {
            file: file.to_path_buf(),
            reason: format!("it decompresses to more than {MAX_FILE_BYTES} bytes"),
        });
    }
    Ok(data)
}
