//! Device tensors: a pooled storage buffer plus a shape. Row-major; images are NCHW.

use std::sync::Arc;

use crate::device::{Binding, DeviceError, Gpu, PooledBuffer};

/// Element type of a tensor's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    U32,
}

/// A tensor on the device. Cloning shares the buffer (cheap); the buffer returns to the pool
/// when the last clone drops.
#[derive(Clone)]
pub struct Tensor {
    gpu: Arc<Gpu>,
    buffer: Arc<PooledBuffer>,
    shape: Vec<usize>,
    dtype: DType,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.dtype, self.shape)
    }
}

/// Number of elements of a shape (1 for a scalar shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    /// An uninitialised tensor (contents are whatever the pooled buffer held).
    pub fn empty(gpu: &Arc<Gpu>, shape: &[usize], dtype: DType) -> Result<Tensor, DeviceError> {
        let bytes = (numel(shape) * 4) as u64;
        let buffer = gpu.storage(bytes, "tensor")?;
        Ok(Tensor {
            gpu: gpu.clone(),
            buffer: Arc::new(buffer),
            shape: shape.to_vec(),
            dtype,
        })
    }

    /// A tensor holding `data` (length must equal the shape's element count).
    pub fn from_f32(gpu: &Arc<Gpu>, shape: &[usize], data: &[f32]) -> Result<Tensor, DeviceError> {
        assert_eq!(
            numel(shape),
            data.len(),
            "data length does not match shape {shape:?}"
        );
        let t = Tensor::empty(gpu, shape, DType::F32)?;
        gpu.write_bytes(t.raw(), bytemuck::cast_slice(data));
        Ok(t)
    }

    /// A u32 tensor holding `data` (indices, labels, counters).
    pub fn from_u32(gpu: &Arc<Gpu>, shape: &[usize], data: &[u32]) -> Result<Tensor, DeviceError> {
        assert_eq!(
            numel(shape),
            data.len(),
            "data length does not match shape {shape:?}"
        );
        let t = Tensor::empty(gpu, shape, DType::U32)?;
        gpu.write_bytes(t.raw(), bytemuck::cast_slice(data));
        Ok(t)
    }

    /// A tensor with every element equal to `value`.
    pub fn full(gpu: &Arc<Gpu>, shape: &[usize], value: f32) -> Result<Tensor, DeviceError> {
        Tensor::from_f32(gpu, shape, &vec![value; numel(shape)])
    }

    /// A tensor of zeros.
    pub fn zeros(gpu: &Arc<Gpu>, shape: &[usize]) -> Result<Tensor, DeviceError> {
        Tensor::full(gpu, shape, 0.0)
    }

    /// Overwrites the contents from the host.
    pub fn write_f32(&self, data: &[f32]) {
        assert_eq!(
            self.numel(),
            data.len(),
            "data length does not match shape {:?}",
            self.shape
        );
        self.gpu.write_bytes(self.raw(), bytemuck::cast_slice(data));
    }

    /// Overwrites a U32 tensor's contents from the host.
    pub fn write_u32(&self, data: &[u32]) {
        assert_eq!(
            self.dtype,
            DType::U32,
            "write_u32 on a {:?} tensor",
            self.dtype
        );
        assert_eq!(
            self.numel(),
            data.len(),
            "data length does not match shape {:?}",
            self.shape
        );
        self.gpu.write_bytes(self.raw(), bytemuck::cast_slice(data));
    }

    /// Downloads an f32 tensor (waits for the GPU).
    pub fn to_f32(&self) -> Result<Vec<f32>, DeviceError> {
        assert_eq!(
            self.dtype,
            DType::F32,
            "to_f32 on a {:?} tensor",
            self.dtype
        );
        let bytes = self.gpu.read_bytes(self.raw(), self.bytes())?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Downloads a u32 tensor (waits for the GPU).
    pub fn to_u32(&self) -> Result<Vec<u32>, DeviceError> {
        assert_eq!(
            self.dtype,
            DType::U32,
            "to_u32 on a {:?} tensor",
            self.dtype
        );
        let bytes = self.gpu.read_bytes(self.raw(), self.bytes())?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// The same buffer seen with another shape and dtype, using at most the buffer's capacity
    /// (the planner places several values in one physical buffer over a step).
    pub fn alias(&self, shape: &[usize], dtype: DType) -> Tensor {
        let bytes = (numel(shape) * 4) as u64;
        assert!(
            bytes <= self.raw().size(),
            "alias {shape:?} exceeds buffer of {} bytes",
            self.raw().size()
        );
        Tensor {
            shape: shape.to_vec(),
            dtype,
            ..self.clone()
        }
    }

    /// The same buffer under another shape with the same element count.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            numel(shape),
            self.numel(),
            "reshape {:?} -> {shape:?}",
            self.shape
        );
        Tensor {
            shape: shape.to_vec(),
            ..self.clone()
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Logical size in bytes (the buffer may be larger: pool size classes).
    pub fn bytes(&self) -> u64 {
        (self.numel() * 4) as u64
    }

    /// The underlying wgpu buffer.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.raw()
    }

    /// This tensor as a launch binding (its logical bytes).
    pub fn binding(&self) -> Binding<'_> {
        Binding {
            buffer: self.raw(),
            bytes: self.bytes(),
            owner: Some(&self.buffer),
        }
    }

    /// True if both tensors live in the same buffer (aliasing checks for in-place kernels).
    pub fn same_buffer(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buffer, &other.buffer)
    }
}
