//! Measured algorithm choice for the spatial conv passes (forward, backward to the input): on
//! the first use of a shape, every variant that runs on the device is timed on that shape once
//! and the fastest is kept, in memory and in a small JSON file per user
//! (`$NASGPU_CACHE_DIR`, else `$XDG_CACHE_HOME/nasgpu`, else `~/.cache/nasgpu`), so later runs
//! pay nothing. The estimate in `select` is fitted to one driver (Mesa 22.3's lavapipe); on
//! another (Mesa 25's is 2.5x slower on the subgroup kernels it picks) or a GPU the measured
//! choice is what holds.
//!
//! Every spatial variant accumulates the same products in the same order (taps, then channel
//! groups, the same fused multiply-adds), so the choice never changes a result's bits: a
//! noisy measurement costs speed, never reproducibility. (The weight-gradient variants split
//! their sums differently, so they stay with the estimate.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::device::{Gpu, Launch};
use crate::kernels::error::KernelError;
use crate::tensor::{DType, Tensor};

use super::geometry::Conv2dShape;
use super::pack;
use super::select::Pass;
use super::spatial::{self, Packing, SpatialAlgo, SpatialPass};

/// Environment variable naming the folder of the cache file.
pub const CACHE_DIR_ENV: &str = "NASGPU_CACHE_DIR";
/// Environment variable: when set, every measurement prints its finalists on stderr.
pub const LOG_ENV: &str = "NASGPU_AUTOTUNE_LOG";
/// Bumped when the variants' meaning changes, so old choices are not reused.
const FORMAT: u32 = 1;
/// Candidates re-timed after the first round, and samples each.
const FINALISTS: usize = 3;
const FINAL_SAMPLES: usize = 2;

/// The measured choice for `pass` of `shape` on `gpu`: remembered, read from the cache file, or
/// measured now. `None` when measuring fails (the caller falls back to the estimate).
pub(super) fn measured_spatial(
    gpu: &Arc<Gpu>,
    pass: Pass,
    shape: &Conv2dShape,
) -> Option<SpatialAlgo> {
    let key = format!("{}|{}", device_key(&gpu.info), shape_key(pass, shape));
    let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(name) = cache.choices.get(&key)
        && let Some(algo) = parse_algo(name)
        && algo.runs_on(gpu)
    {
        return Some(algo);
    }
    let algo = fastest(gpu, pass, shape).ok()?;
    cache.choices.insert(key, algo_name(&algo));
    cache.save();
    Some(algo)
}

/// Times every variant that runs on `gpu` once, then the fastest few again, and returns the
/// one with the lowest time.
fn fastest(gpu: &Arc<Gpu>, pass: Pass, shape: &Conv2dShape) -> Result<SpatialAlgo, KernelError> {
    let spatial = match pass {
        Pass::Forward => SpatialPass::forward(shape),
        Pass::BackwardData => SpatialPass::backward_data(shape),
    };
    let [oh, ow] = shape.out_hw();
    let x = [shape.n, shape.cin, shape.in_hw[0], shape.in_hw[1]];
    let y = [shape.n, shape.cout, oh, ow];
    let (src_shape, dst_shape) = match pass {
        Pass::Forward => (x, y),
        Pass::BackwardData => (y, x),
    };
    let [kh, kw] = shape.spec.kernel;
    // Only the packed source is read (`Packing::Ready`); the NCHW one is checked, so a view of
    // the packed buffer stands in for it. Inputs hold normal numbers (denormals would skew a
    // CPU device's timing); dst is overwritten.
    let src4 = Tensor::full(gpu, &pack::shared_shape(&src_shape), 0.5)?;
    let src = src4.alias(&src_shape, DType::F32);
    let w = Tensor::full(gpu, &[shape.cout, shape.cin, kh, kw], 0.25)?;
    let dst = Tensor::empty(gpu, &dst_shape, DType::F32)?;
    let time = |launches: &[Launch]| -> Result<f64, KernelError> {
        let start = Instant::now();
        gpu.run(&launches.iter().collect::<Vec<_>>())?;
        gpu.sync()?;
        Ok(start.elapsed().as_secs_f64())
    };
    let mut timed: Vec<(f64, SpatialAlgo, Vec<Launch>)> = Vec::new();
    let mut best = f64::INFINITY;
    let src_channels = match pass {
        Pass::Forward => shape.cin,
        Pass::BackwardData => shape.cout,
    };
    for algo in candidates(gpu)
        .into_iter()
        .filter(|a| a.accepts(src_channels))
    {
        // A variant that refuses the shape (a grid past a limit) is no candidate.
        let Ok(launches) = spatial::launches(
            gpu,
            &spatial,
            &src,
            Packing::Ready(&src4),
            &w,
            None,
            &dst,
            algo,
        ) else {
            continue;
        };
        // The first run pays for anything the driver does lazily; the second is the sample,
        // skipped for a variant already twice as slow as the best (most are, on any device).
        let mut t = time(&launches)?;
        if t < 2.0 * best {
            t = t.min(time(&launches)?);
        }
        best = best.min(t);
        timed.push((t, algo, launches));
    }
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    timed.truncate(FINALISTS);
    for entry in &mut timed {
        for _ in 0..FINAL_SAMPLES {
            entry.0 = entry.0.min(time(&entry.2)?);
        }
    }
    let Some(fastest) = timed.iter().min_by(|a, b| a.0.total_cmp(&b.0)) else {
        return Err(crate::kernels::error::argument_error(
            "conv2d autotune",
            format!("no variant takes {}", shape_key(pass, shape)),
        ));
    };
    if std::env::var_os(LOG_ENV).is_some() {
        let list: Vec<String> = timed
            .iter()
            .map(|(t, a, _)| format!("{} {:.2} ms", algo_name(a), t * 1e3))
            .collect();
        eprintln!("autotune {}: {}", shape_key(pass, shape), list.join(", "));
    }
    Ok(fastest.1)
}

/// The variants worth timing on `gpu`: all that run there, less the workgroup-tiled one on
/// CPU devices, where workgroup memory and barriers only add cost (on lavapipe, Mesa 22.3 and
/// 25.0, it was never among the three fastest for small-cnn's shapes, and its pipeline alone
/// takes seconds to compile).
fn candidates(gpu: &Gpu) -> Vec<SpatialAlgo> {
    let cpu = gpu.info.device_type == wgpu::DeviceType::Cpu;
    SpatialAlgo::ALL
        .into_iter()
        .filter(|a| a.runs_on(gpu) && !(cpu && matches!(a, SpatialAlgo::Tiled { .. })))
        .collect()
}

/// What a measured choice depends on besides the shape: the adapter, its driver and the
/// kernels' own sources.
fn device_key(i: &wgpu::AdapterInfo) -> String {
    format!(
        "v{FORMAT} {} {} {:?} {} {} {:016x}",
        env!("CARGO_PKG_VERSION"),
        i.name,
        i.backend,
        i.driver,
        i.driver_info,
        spatial::sources_hash()
    )
}

fn shape_key(pass: Pass, s: &Conv2dShape) -> String {
    format!(
        "{pass:?} n{} c{}->{} {}x{} k{}x{} s{}x{}",
        s.n,
        s.cin,
        s.cout,
        s.in_hw[0],
        s.in_hw[1],
        s.spec.kernel[0],
        s.spec.kernel[1],
        s.spec.stride[0],
        s.spec.stride[1]
    )
}

/// The cache file and how many pass shapes it holds choices for on the adapter `info` (for
/// `nasgpu devices`).
pub fn cached_shapes(info: &wgpu::AdapterInfo) -> (Option<PathBuf>, usize) {
    let cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    let prefix = format!("{}|", device_key(info));
    let count = cache
        .choices
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .count();
    (cache.path.clone(), count)
}

/// A variant's name in the cache file, e.g. `subgroup 32x4`.
fn algo_name(a: &SpatialAlgo) -> String {
    match *a {
        SpatialAlgo::Direct { px, rc } => format!("direct {px}x{rc}"),
        SpatialAlgo::Subgroup { px, rc } => format!("subgroup {px}x{rc}"),
        SpatialAlgo::Subgroup64 { px, rc } => format!("subgroup64 {px}x{rc}"),
        SpatialAlgo::Tiled { .. } => "tiled".into(),
    }
}

fn parse_algo(name: &str) -> Option<SpatialAlgo> {
    SpatialAlgo::ALL
        .iter()
        .copied()
        .find(|a| algo_name(a) == name)
}

/// The choices of every device, as kept on disk.
#[derive(Default)]
struct Cache {
    path: Option<PathBuf>,
    choices: HashMap<String, String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CacheFile {
    conv_spatial: std::collections::BTreeMap<String, String>,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Cache::load()))
}

fn cache_path() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = var(CACHE_DIR_ENV)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("nasgpu")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("nasgpu")))?;
    Some(dir.join("autotune.json"))
}

impl Cache {
    /// The file's choices; an unreadable or malformed file is ignored (and replaced on the
    /// next save), since every entry can be measured again.
    fn load() -> Cache {
        let path = cache_path();
        let choices = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .map(|f| f.conv_spatial.into_iter().collect())
            .unwrap_or_default();
        Cache { path, choices }
    }

    /// Writes the choices atomically, merged with what another process may have saved since.
    /// A folder that cannot be written only costs measuring again next time.
    fn save(&mut self) {
        let Some(path) = &self.path else { return };
        if let Some(theirs) = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
        {
            for (k, v) in theirs.conv_spatial {
                self.choices.entry(k).or_insert(v);
            }
        }
        let file = CacheFile {
            conv_spatial: self.choices.clone().into_iter().collect(),
        };
        let Ok(json) = serde_json::to_vec_pretty(&file) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::util::atomic_write_with(path, &json, false);
    }
}
