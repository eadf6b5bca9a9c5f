//! Planned execution: a tape compiled once into launches over buffers allocated up front.
//! Values whose lifetimes do not overlap share a buffer; bind groups are built once; a step is
//! the same launch list re-encoded into one encoder and submitted once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::graph::{Phase, Storage};
use super::{AutogradError, Graph, Value};
use crate::device::{DeviceError, Gpu, Launch, PooledBuffer};
use crate::tensor::{DType, Tensor, numel};

/// Sizes and counts of a compiled plan, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Recorded nodes.
    pub nodes: usize,
    /// Dispatches per full run (all phases).
    pub dispatches: usize,
    /// Bytes of the planner's buffers (activations and gradients after reuse).
    pub planned_bytes: u64,
    /// Bytes the same values would need with one buffer each (no reuse).
    pub unplanned_bytes: u64,
    /// Bytes of external tensors the plan reads or writes (parameters, optimiser state, inputs).
    pub external_bytes: u64,
    /// Bytes of the scratch buffers the kernels allocated for themselves (packed operands,
    /// partial sums), held as long as the plan.
    pub scratch_bytes: u64,
    /// Physical buffers the planner allocated.
    pub buffers: usize,
}

struct Step {
    phase: Phase,
    name: &'static str,
    launches: Vec<Launch>,
}

/// A compiled tape, ready to be encoded any number of times.
pub struct Plan {
    gpu: Arc<Gpu>,
    steps: Vec<Step>,
    tensors: HashMap<Value, Tensor>,
    stats: PlanStats,
    /// Physical buffers, kept alive for the plan's whole life.
    _buffers: Vec<Tensor>,
}

/// Bytes of the distinct pooled buffers the launches bind that are none of `owned` (the planner's
/// buffers and the values' tensors).
fn scratch_bytes<'a>(steps: &[Step], owned: impl Iterator<Item = &'a Tensor>) -> u64 {
    let owned: HashSet<*const PooledBuffer> = owned
        .filter_map(|t| t.binding().owner.map(Arc::as_ptr))
        .collect();
    let mut seen = HashSet::new();
    steps
        .iter()
        .flat_map(|s| &s.launches)
        .flat_map(|l| l.bound_buffers())
        .filter(|b| !owned.contains(&Arc::as_ptr(b)) && seen.insert(Arc::as_ptr(b)))
        .map(|b| b.raw().size())
        .sum()
}

fn bytes_of(shape: &[usize]) -> u64 {
    (numel(shape) * 4) as u64
}

/// Follows aliases (reshapes) to the value that owns the storage.
fn root(graph: &Graph, mut v: Value) -> Value {
    while let Storage::Alias(of) = graph.info(v).storage {
        v = of;
    }
    v
}

impl Plan {
    /// Compiles `graph`. Values in `keep` stay valid after a run (read them with `tensor`); other
    /// planned values may be overwritten by later nodes.
    pub fn compile(graph: &Graph, keep: &[Value]) -> Result<Plan, AutogradError> {
        // Buffer reuse assumes recording order is run order; running phases separately keeps that
        // true only when no node of an earlier phase was recorded after a later one.
        if let Some(pair) = graph.nodes().windows(2).find(|w| w[1].phase < w[0].phase) {
            return Err(AutogradError::Backward {
                message: format!(
                    "{} ({:?}) was recorded after {} ({:?}); record the phases in order",
                    pair[1].op.name(),
                    pair[1].phase,
                    pair[0].op.name(),
                    pair[0].phase
                ),
            });
        }
        let gpu = graph.gpu().clone();
        let never = usize::MAX;
        // Last node index at which each storage root is read or written.
        let mut last_use: HashMap<Value, usize> = HashMap::new();
        for (i, node) in graph.nodes().iter().enumerate() {
            for &v in node.inputs.iter().chain(&node.outputs) {
                let r = root(graph, v);
                let entry = last_use.entry(r).or_insert(i);
                *entry = (*entry).max(i);
            }
        }
        for &v in keep {
            last_use.insert(root(graph, v), never);
        }
        let mut dies_after: HashMap<usize, Vec<Value>> = HashMap::new();
        for (&r, &i) in &last_use {
            if i != never && matches!(graph.info(r).storage, Storage::Planned) {
                dies_after.entry(i).or_default().push(r);
            }
        }

        let mut buffers: Vec<Tensor> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let mut placed: HashMap<Value, usize> = HashMap::new();
        let mut tensors: HashMap<Value, Tensor> = HashMap::new();
        let mut stats = PlanStats {
            nodes: graph.len(),
            ..Default::default()
        };
        let mut externals: HashSet<Value> = HashSet::new();
        let mut steps = Vec::with_capacity(graph.len());

        for (i, node) in graph.nodes().iter().enumerate() {
            for &out in &node.outputs {
                if matches!(graph.info(out).storage, Storage::Planned) {
                    let bytes = bytes_of(graph.shape(out));
                    stats.unplanned_bytes += bytes;
                    let slot = take_buffer(&gpu, &mut buffers, &mut free, bytes)?;
                    placed.insert(out, slot);
                }
            }
            for &v in node.inputs.iter().chain(&node.outputs) {
                if !tensors.contains_key(&v) {
                    let t = value_tensor(graph, v, &buffers, &placed, &tensors);
                    if let Storage::External(_) = graph.info(v).storage
                        && externals.insert(v)
                    {
                        stats.external_bytes += t.bytes();
                    }
                    tensors.insert(v, t);
                }
            }
            let inputs: Vec<&Tensor> = node.inputs.iter().map(|v| &tensors[v]).collect();
            let outputs: Vec<&Tensor> = node.outputs.iter().map(|v| &tensors[v]).collect();
            let launches = node.op.launches(&gpu, &inputs, &outputs)?;
            stats.dispatches += launches.len();
            steps.push(Step {
                phase: node.phase,
                name: node.op.name(),
                launches,
            });
            for dead in dies_after.remove(&i).unwrap_or_default() {
                if let Some(&slot) = placed.get(&dead) {
                    free.push(slot);
                }
            }
        }
        for &v in keep {
            if !tensors.contains_key(&v) {
                let t = value_tensor(graph, v, &buffers, &placed, &tensors);
                tensors.insert(v, t);
            }
        }
        stats.buffers = buffers.len();
        stats.planned_bytes = buffers.iter().map(|b| b.raw().size()).sum();
        stats.scratch_bytes = scratch_bytes(&steps, buffers.iter().chain(tensors.values()));
        // Only kept values and externals are meaningful to callers after a run.
        let kept: HashSet<Value> = keep.iter().copied().collect();
        tensors.retain(|v, _| kept.contains(v) || externals.contains(v));
        Ok(Plan {
            gpu,
            steps,
            tensors,
            stats,
            _buffers: buffers,
        })
    }

    pub fn stats(&self) -> PlanStats {
        self.stats
    }

    /// The tensor of a kept value (or an external one).
    pub fn tensor(&self, v: Value) -> Option<&Tensor> {
        self.tensors.get(&v)
    }

    /// Dispatches of the given phases.
    pub fn dispatches(&self, phases: &[Phase]) -> usize {
        self.steps
            .iter()
            .filter(|s| phases.contains(&s.phase))
            .map(|s| s.launches.len())
            .sum()
    }

    /// Encodes the launches of `phases` (in recording order) into `pass`.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, phases: &[Phase]) {
        for step in self.steps.iter().filter(|s| phases.contains(&s.phase)) {
            for launch in &step.launches {
                launch.encode(pass);
            }
        }
    }

    /// Encodes `phases` into one encoder and submits it once (no wait).
    pub fn run(&self, phases: &[Phase]) -> Result<(), DeviceError> {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.encode(&mut pass, phases);
        }
        self.gpu.submit(encoder.finish());
        self.gpu.check_errors()
    }

    /// Wall time of each op kind over one run of `phases`, every node submitted and waited for
    /// on its own (slower than a real step; for finding where a step's time goes). Sorted by
    /// total time, largest first: (op name, nodes, seconds).
    pub fn profile(
        &self,
        phases: &[Phase],
    ) -> Result<Vec<(&'static str, usize, f64)>, DeviceError> {
        let mut totals: Vec<(&'static str, usize, f64)> = Vec::new();
        self.gpu.sync()?;
        for step in self
            .steps
            .iter()
            .filter(|s| phases.contains(&s.phase) && !s.launches.is_empty())
        {
            let start = std::time::Instant::now();
            self.gpu.run(&step.launches.iter().collect::<Vec<_>>())?;
            self.gpu.sync()?;
            let seconds = start.elapsed().as_secs_f64();
            match totals.iter_mut().find(|t| t.0 == step.name) {
                Some(t) => {
                    t.1 += 1;
                    t.2 += seconds;
                }
                None => totals.push((step.name, 1, seconds)),
            }
        }
        totals.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(totals)
    }

    /// Like `profile`, but each launch on its own and grouped by (op, kernel): shows how an op's
    /// time splits between its kernels (packing, the main kernel, reductions). With
    /// `NASGPU_PROFILE_EACH` set, launches are told apart by their grid too (one row per layer).
    pub fn profile_kernels(
        &self,
        phases: &[Phase],
    ) -> Result<Vec<(String, usize, f64)>, DeviceError> {
        let mut totals: Vec<(String, usize, f64)> = Vec::new();
        self.gpu.sync()?;
        for step in self.steps.iter().filter(|s| phases.contains(&s.phase)) {
            for launch in &step.launches {
                let start = std::time::Instant::now();
                self.gpu.run(&[launch])?;
                self.gpu.sync()?;
                let seconds = start.elapsed().as_secs_f64();
                let name = if std::env::var_os("NASGPU_PROFILE_EACH").is_some() {
                    format!("{}/{}@{:?}", step.name, launch.name(), launch.grid)
                } else {
                    format!("{}/{}", step.name, launch.name())
                };
                match totals.iter_mut().find(|t| t.0 == name) {
                    Some(t) => {
                        t.1 += 1;
                        t.2 += seconds;
                    }
                    None => totals.push((name, 1, seconds)),
                }
            }
        }
        totals.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(totals)
    }

    /// Runs every phase.
    pub fn run_all(&self) -> Result<(), DeviceError> {
        self.run(&[Phase::Forward, Phase::Backward, Phase::Update])
    }
}

/// Best-fit reuse of a free buffer, else a new one.
fn take_buffer(
    gpu: &Arc<Gpu>,
    buffers: &mut Vec<Tensor>,
    free: &mut Vec<usize>,
    bytes: u64,
) -> Result<usize, AutogradError> {
    let best = free
        .iter()
        .enumerate()
        .filter(|&(_, &slot)| buffers[slot].raw().size() >= bytes)
        .min_by_key(|&(_, &slot)| buffers[slot].raw().size());
    if let Some((pos, &slot)) = best {
        free.swap_remove(pos);
        return Ok(slot);
    }
    let elems = (bytes / 4).max(1) as usize;
    buffers.push(Tensor::empty(gpu, &[elems], DType::F32)?);
    Ok(buffers.len() - 1)
}

/// The tensor a value is stored in: its planned buffer, its external tensor, or its alias root.
fn value_tensor(
    graph: &Graph,
    v: Value,
    buffers: &[Tensor],
    placed: &HashMap<Value, usize>,
    tensors: &HashMap<Value, Tensor>,
) -> Tensor {
    let info = graph.info(v);
    match &info.storage {
        Storage::External(t) => t.clone(),
        Storage::Planned => buffers[placed[&v]].alias(&info.shape, info.dtype),
        Storage::Alias(of) => {
            let base = tensors
                .get(of)
                .cloned()
                .unwrap_or_else(|| value_tensor(graph, *of, buffers, placed, tensors));
            base.alias(&info.shape, info.dtype)
        }
    }
}
