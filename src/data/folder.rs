//! Image-folder datasets: `DIR/train/<class>/*.png|jpg` (and `DIR/test/<class>/...`, or a
//! held-out fifth of the training images when there is no test folder). Class names are the
//! sorted sub-folder names. Images are decoded with the `image` crate; the first training image
//! fixes the shape (grey images give 1 channel, anything else 3), and an image of another size
//! is resized to it or refused (`FolderOptions::resize`). Files that do not decode (broken,
//! truncated, not images) are skipped and counted, or refused with their name when `strict`.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Format, TrainTest};
use super::error::DataError;
use super::split::{Amount, Sampling, split_train_validation};

/// How to treat images that differ or do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderOptions {
    /// Resize images whose size differs from the first training image's (else refuse them).
    pub resize: bool,
    /// Refuse the dataset at the first file that does not decode (else skip and count it).
    pub strict: bool,
}

/// Share of the training images held out as the test set when `DIR/test` is absent.
const HELD_OUT: f64 = 0.2;
/// Seed of that held-out split (fixed: the same folder always gives the same test set).
const HELD_OUT_SEED: u64 = 0x7E57;

/// Whether `dir` looks like an image folder: a `train` folder with sub-folders.
pub fn is_image_folder(dir: &Path) -> bool {
    sub_dirs(&dir.join("train")).is_ok_and(|d| !d.is_empty())
}

fn io(file: &Path, reason: impl ToString) -> DataError {
    DataError::Io {
        file: file.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Sorted sub-folders of `dir` (hidden ones left out).
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !hidden(p))
        .collect();
    out.sort();
    Ok(out)
}

fn hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Sorted regular files of `dir` (hidden ones left out).
fn files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && !hidden(p))
        .collect();
    out.sort();
    Ok(out)
}

/// Decoded images of one part (train or test), being collected.
struct Part {
    name: String,
    /// `[C, H, W]`, fixed by the first image decoded (of the training part).
    shape: Option<[usize; 3]>,
    pixels: Vec<u8>,
    labels: Vec<u32>,
    skipped: Vec<String>,
}

impl Part {
    /// Decodes `path` into the part, or records why not.
    fn add(&mut self, path: &Path, label: u32, opts: FolderOptions) -> Result<(), DataError> {
        let decoded = image::ImageReader::open(path)
            .map_err(|e| e.to_string())
            .and_then(|r| r.with_guessed_format().map_err(|e| e.to_string()))
            .and_then(|r| r.decode().map_err(|e| e.to_string()));
        let img = match decoded {
            Ok(img) => img,
            Err(reason) if opts.strict => {
                return Err(io(
                    path,
                    format!("not a readable image ({reason}) under --strict"),
                ));
            }
            Err(reason) => {
                self.skipped.push(format!("{}: {reason}", path.display()));
                return Ok(());
            }
        };
        let (w, h) = (img.width() as usize, img.height() as usize);
        let [c, th, tw] = *self.shape.get_or_insert_with(|| {
            let c = if img.color().has_color() { 3 } else { 1 };
            [c, h, w]
        });
        let img = if [h, w] == [th, tw] {
            img
        } else if opts.resize {
            img.resize_exact(tw as u32, th as u32, image::imageops::FilterType::Triangle)
        } else {
            return Err(DataError::Mismatch {
                message: format!(
                    "{}: {w}x{h} pixels, but the first training image is {tw}x{th}; \
                     pass --resize to resize images to {tw}x{th}",
                    path.display()
                ),
            });
        };
        // Interleaved HWC from the decoder, stored channel-planar CHW.
        let interleaved = if c == 1 {
            img.to_luma8().into_raw()
        } else {
            img.to_rgb8().into_raw()
        };
        let plane = th * tw;
        let start = self.pixels.len();
        self.pixels.resize(start + c * plane, 0);
        for (i, px) in interleaved.chunks_exact(c).enumerate() {
            for (ch, &v) in px.iter().enumerate() {
                self.pixels[start + ch * plane + i] = v;
            }
        }
        self.labels.push(label);
        Ok(())
    }

    fn finish(self, classes: u32) -> Result<(Dataset, Vec<String>), DataError> {
        let shape = self.shape.unwrap_or([1, 1, 1]);
        if self.labels.is_empty() {
            return Err(DataError::Argument {
                message: format!("{}: no readable images", self.name),
            });
        }
        let data = Dataset::new(self.name, self.pixels, self.labels, shape, classes)?;
        Ok((data, self.skipped))
    }
}

/// Reads `dir/<part>/<class>/*` for the classes `names`.
fn read_part(
    dir: &Path,
    part: &str,
    name: &str,
    names: &[String],
    shape: Option<[usize; 3]>,
    opts: FolderOptions,
) -> Result<(Dataset, Vec<String>), DataError> {
    let root = dir.join(part);
    let mut p = Part {
        name: format!("{name} {part}"),
        shape,
        pixels: Vec::new(),
        labels: Vec::new(),
        skipped: Vec::new(),
    };
    for class_dir in sub_dirs(&root)? {
        let class = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(label) = names.iter().position(|n| *n == class) else {
            return Err(DataError::Mismatch {
                message: format!(
                    "{}: class '{class}' is not one of the training classes {names:?}",
                    class_dir.display()
                ),
            });
        };
        for file in files(&class_dir)? {
            p.add(&file, label as u32, opts)?;
        }
    }
    p.finish(names.len() as u32)
}

/// Loads the image folder `dir`; `name` names it in logs.
pub fn load(dir: &Path, name: &str, opts: FolderOptions) -> Result<TrainTest, DataError> {
    let names: Vec<String> = sub_dirs(&dir.join("train"))?
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if names.len() < 2 {
        return Err(DataError::Argument {
            message: format!(
                "{}: {} class folder(s); an image folder needs train/<class>/ for at least 2 classes",
                dir.join("train").display(),
                names.len()
            ),
        });
    }
    let (train, mut skipped) = read_part(dir, "train", name, &names, None, opts)?;
    let test_dir = dir.join("test");
    let (train, test) = if test_dir.is_dir() {
        let (test, more) = read_part(dir, "test", name, &names, Some(train.image_shape), opts)?;
        skipped.extend(more);
        (train, test)
    } else {
        let split = split_train_validation(
            &train,
            Amount::Fraction(HELD_OUT),
            Sampling::Stratified,
            HELD_OUT_SEED,
        )?;
        let mut test = train.select(&split.validation)?;
        test.name = format!("{name} test (held out: no test folder)");
        let mut kept = train.select(&split.train)?;
        kept.name = format!("{name} train");
        (kept, test)
    };
    let mut data = TrainTest::new(name, Format::ImageFolder, train, test)?.with_class_names(names);
    data.skipped = skipped;
    Ok(data)
}
