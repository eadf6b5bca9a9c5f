//! Storage buffers reused by size class, so that eager work (tests, evaluation, the controller)
//! does not allocate a fresh device buffer for every temporary.
//!
//! Size classes: powers of two up to 64 KiB, then eight classes per doubling (at most 12.5%
//! slack). A buffer returns to its class when the last `PooledBuffer` handle drops.
//! A launch holds the pooled buffers it binds, so a buffer goes back to the pool only once no
//! tensor and no launch refers to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every pooled buffer can be bound as storage and copied to/from.
pub const POOL_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// The pool keeps at most this many bytes of idle buffers; beyond it freed buffers are dropped.
const MAX_IDLE_BYTES: u64 = 512 << 20;

/// Rounds a request up to its size class (always a multiple of 16 bytes, at least 16).
pub fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(16);
    if bytes <= 64 << 10 {
        return bytes.next_power_of_two();
    }
    let pow = bytes.next_power_of_two();
    let step = pow / 16; // eight classes between pow/2 and pow
    bytes.div_ceil(step) * step
}

#[derive(Default)]
struct Idle {
    by_class: HashMap<u64, Vec<wgpu::Buffer>>,
    bytes: u64,
}

/// Shared state of the pool; handles keep it alive.
#[derive(Default)]
pub(crate) struct BufferPool {
    idle: Mutex<Idle>,
}

impl BufferPool {
    /// The idle lists; a panic elsewhere while holding the lock leaves them consistent.
    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A pooled device buffer; returns to the pool when dropped.
pub struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    pool: Arc<BufferPool>,
}

impl PooledBuffer {
    /// The wgpu buffer (its size is the size class, not the request).
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer present until drop")
    }
}

impl std::fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PooledBuffer({} bytes)", self.class)
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let Some(buffer) = self.buffer.take() else {
            return;
        };
        let mut idle = self.pool.idle();
        if idle.bytes + self.class <= MAX_IDLE_BYTES {
            idle.bytes += self.class;
            idle.by_class.entry(self.class).or_default().push(buffer);
        }
    }
}

impl BufferPool {
    /// Takes an idle buffer of the class, or creates one with `create`.
    pub fn take(
        self: &Arc<Self>,
        bytes: u64,
        create: impl FnOnce(u64) -> Result<wgpu::Buffer, super::DeviceError>,
    ) -> Result<PooledBuffer, super::DeviceError> {
        let class = size_class(bytes);
        let reused = {
            let mut idle = self.idle();
            let found = idle.by_class.get_mut(&class).and_then(Vec::pop);
            if found.is_some() {
                idle.bytes -= class;
            }
            found
        };
        let buffer = match reused {
            Some(b) => b,
            None => create(class)?,
        };
        Ok(PooledBuffer {
            buffer: Some(buffer),
            class,
            pool: self.clone(),
        })
    }

    /// Drops every idle buffer (e.g. after a child network is finished, before a larger one).
    pub fn trim(&self) {
        let mut idle = self.idle();
        idle.by_class.clear();
        idle.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_are_tight_and_monotonic() {
        assert_eq!(size_class(0), 16);
        assert_eq!(size_class(17), 32);
        assert_eq!(size_class(65536), 65536);
        let mut last = 0;
        for bytes in (1..5_000_000u64).step_by(997) {
            let c = size_class(bytes);
            assert!(c >= bytes && c.is_multiple_of(16), "{bytes} -> {c}");
            assert!(c >= last, "class of {bytes} shrank");
            if bytes > 65536 {
                assert!(
                    (c - bytes) as f64 <= bytes as f64 * 0.125 + 16.0,
                    "{bytes} -> {c}"
                );
            }
            last = c;
        }
    }
}
