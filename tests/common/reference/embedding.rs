//! f64 references of the embedding kernels; out-of-range ids read zeros and get no gradient.

/// out[n, :] = table[ids[n], :] (zeros for out-of-range ids).
pub fn forward(table: &[f64], d: usize, ids: &[u32]) -> Vec<f64> {
    let v = table.len() / d;
    let mut out = Vec::with_capacity(ids.len() * d);
    for &id in ids {
        let id = id as usize;
        if id < v {
            out.extend_from_slice(&table[id * d..(id + 1) * d]);
        } else {
            out.extend(std::iter::repeat_n(0.0, d));
        }
    }
    out
}

/// dtable[v, :] = sum of dout[n, :] over ids[n] == v.
pub fn backward(dout: &[f64], d: usize, ids: &[u32], v: usize) -> Vec<f64> {
    let mut dtable = vec![0.0; v * d];
    for (n, &id) in ids.iter().enumerate() {
        let id = id as usize;
        if id < v {
            for j in 0..d {
                dtable[id * d + j] += dout[n * d + j];
            }
        }
    }
    dtable
}
