// C = op(A)·op(B) (+ bias) (+ C) for llvmpipe (lavapipe), reading 8 floats per lane per load:
// one workgroup is one 8-lane subgroup, and every lane computes TM rows x 8 adjacent columns of C.
//
// On llvmpipe every storage-buffer load is a loop over the 8 lanes with a bounds check per
// component, and costs about the same per lane for 32-bit and 64-bit components; FMAs are a
// multiply and an add. So this kernel:
//  - loads everything as vec4<u64> (8 floats per lane per load, half the load instructions of
//    vec4<f32>) and splits each into two vec4<f32>: `Pair` [0] holds floats 0, 2, 4, 6 and [1]
//    holds 1, 3, 5, 7 (the low and high words);
//  - spreads the A loads over the lanes (each lane loads 8 values of k for one row, or 8 rows
//    at one k when A is transposed) and hands them out with constant-lane subgroupBroadcasts,
//    which are register permutes;
//  - chains the 8 k-steps of a block in temporaries so each accumulator (a loop-carried
//    variable, which llvmpipe blends with the loop mask on every write) is written once per block;
//  - keeps the unrolled block small (TM = 24: 192 accumulator registers): a loop body much
//    larger than the CPU's micro-op cache runs at half speed.
// Rows of A, B and C must be multiples of 8 floats (the launcher checks; other shapes use
// matmul_subgroup.wgsl), so every load is whole and aligned and k needs no tail.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<u64>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<u64>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<u64>>;
@group(0) @binding(4) var<storage, read_write> c: array<vec4<u64>>;

const TM: u32 = {{TM}}u;
const TJ: u32 = TM / 8u;
const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};

// Eight consecutive floats: [0] = elements 0, 2, 4, 6; [1] = elements 1, 3, 5, 7.
alias Pair = array<vec4<f32>, 2>;

fn split(v: vec4<u64>) -> Pair {
    return Pair(
        bitcast<vec4<f32>>(vec4<u32>(v)),
        bitcast<vec4<f32>>(vec4<u32>(v >> vec4<u32>(32u))),
    );
}

fn join(x: Pair) -> vec4<u64> {
    let lo = vec4<u64>(bitcast<vec4<u32>>(x[0]));
    let hi = vec4<u64>(bitcast<vec4<u32>>(x[1]));
    return lo | (hi << vec4<u32>(32u));
}

// The eight floats of a Pair in order (component indices stay constant: a dynamic one would
// make llvmpipe spill the array to per-lane scratch memory).
fn floats(x: Pair) -> array<f32, 8> {
    return array<f32, 8>(x[0].x, x[1].x, x[0].y, x[1].y, x[0].z, x[1].z, x[0].w, x[1].w);
}

// Component c of each of 8 vectors (c constant at the call site).
fn xs(v: array<vec4<f32>, 8>) -> array<f32, 8> {
    return array<f32, 8>(v[0].x, v[1].x, v[2].x, v[3].x, v[4].x, v[5].x, v[6].x, v[7].x);
}
fn ys(v: array<vec4<f32>, 8>) -> array<f32, 8> {
    return array<f32, 8>(v[0].y, v[1].y, v[2].y, v[3].y, v[4].y, v[5].y, v[6].y, v[7].y);
}
fn zs(v: array<vec4<f32>, 8>) -> array<f32, 8> {
    return array<f32, 8>(v[0].z, v[1].z, v[2].z, v[3].z, v[4].z, v[5].z, v[6].z, v[7].z);
}
fn ws(v: array<vec4<f32>, 8>) -> array<f32, 8> {
    return array<f32, 8>(v[0].w, v[1].w, v[2].w, v[3].w, v[4].w, v[5].w, v[6].w, v[7].w);
}

// Every lane's copy of v, lane by lane (constant lanes: register permutes on llvmpipe).
fn bcast(v: vec4<f32>) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(
        subgroupBroadcast(v, 0u),
        subgroupBroadcast(v, 1u),
        subgroupBroadcast(v, 2u),
        subgroupBroadcast(v, 3u),
        subgroupBroadcast(v, 4u),
        subgroupBroadcast(v, 5u),
        subgroupBroadcast(v, 6u),
        subgroupBroadcast(v, 7u),
    );
}

// This lane's share of A for rows 8j..8j+7 of the tile and k..k+7. Not transposed: row 8j+lane
// at k..k+7. Transposed: rows 8j..8j+7 at k+lane. Rows past the edge read real rows.
fn load_a(abase: u32, row0: u32, j: u32, k: u32, lane: u32) -> Pair {
    if TRANS_A {
        let r = min(row0 + 8u * j, p.m - 8u);
        return split(a[(abase + (k + lane) * p.m + r) / 8u]);
    }
    let r = min(row0 + 8u * j + lane, p.m - 1u);
    return split(a[(abase + r * p.k + k) / 8u]);
}

// This lane's 8 columns of B at k..k+7: q[kk] holds them at k + kk.
fn load_b(bbase: u32, col0: u32, k: u32) -> array<Pair, 8> {
    var q: array<Pair, 8>;
    if TRANS_B {
        // t[c] = column col0 + c at k..k+7, transposed in registers.
        var t: array<Pair, 8>;
        for (var c = 0u; c < 8u; c++) {
            t[c] = split(b[(bbase + (col0 + c) * p.k + k) / 8u]);
        }
        for (var h = 0u; h < 2u; h++) {
            let c0 = floats(t[h]);
            let c1 = floats(t[h + 2u]);
            let c2 = floats(t[h + 4u]);
            let c3 = floats(t[h + 6u]);
            for (var kk = 0u; kk < 8u; kk++) {
                q[kk][h] = vec4<f32>(c0[kk], c1[kk], c2[kk], c3[kk]);
            }
        }
    } else {
        for (var kk = 0u; kk < 8u; kk++) {
            q[kk] = split(b[(bbase + (k + kk) * p.n + col0) / 8u]);
        }
    }
    return q;
}

// acc + x[kk] * q[kk] over the block's 8 k-steps, summed in order (the caller writes it once).
fn row_step(acc: Pair, x: array<f32, 8>, q: array<Pair, 8>) -> Pair {
    var r: Pair;
    for (var h = 0u; h < 2u; h++) {
        var s = acc[h];
        for (var kk = 0u; kk < 8u; kk++) {
            s = fma(vec4<f32>(x[kk]), q[kk][h], s);
        }
        r[h] = s;
    }
    return r;
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let row0 = wg.y * TM;
    let col = (wg.x * 8u + lane) * 8u;
    // Lanes past the right edge compute real columns and store nothing.
    let col0 = min(col, p.n - 8u);
    let abase = wg.z * p.a_bs;
    let bbase = wg.z * p.b_bs;
    // acc[j][e] is row 8j+e of the tile. Every loop over it is indexed by its own counter, which
    // makes Mesa unroll it whatever its size: one dynamic index would move acc to per-lane
    // scratch memory (loads and stores that loop over the lanes), main loop included.
    var acc: array<array<Pair, 8>, TJ>;
    for (var j = 0u; j < TJ; j++) {
        for (var e = 0u; e < 8u; e++) {
            acc[j][e] = Pair(vec4<f32>(0.0), vec4<f32>(0.0));
        }
    }

    for (var k = 0u; k < p.k; k += 8u) {
        var ra: array<Pair, TJ>;
        for (var j = 0u; j < TJ; j++) {
            ra[j] = load_a(abase, row0, j, k, lane);
        }
        let q = load_b(bbase, col0, k);
        for (var j = 0u; j < TJ; j++) {
            // lo[l] / hi[l]: lane l's even / odd elements.
            let lo = bcast(ra[j][0]);
            let hi = bcast(ra[j][1]);
            if TRANS_A {
                // Row 8j+e at k+kk is lane kk's element e.
                acc[j][0] = row_step(acc[j][0], xs(lo), q);
                acc[j][1] = row_step(acc[j][1], xs(hi), q);
                acc[j][2] = row_step(acc[j][2], ys(lo), q);
                acc[j][3] = row_step(acc[j][3], ys(hi), q);
                acc[j][4] = row_step(acc[j][4], zs(lo), q);
                acc[j][5] = row_step(acc[j][5], zs(hi), q);
                acc[j][6] = row_step(acc[j][6], ws(lo), q);
                acc[j][7] = row_step(acc[j][7], ws(hi), q);
            } else {
                // Row 8j+e at k+kk is lane e's element kk.
                for (var e = 0u; e < 8u; e++) {
                    acc[j][e] = row_step(acc[j][e], floats(Pair(lo[e], hi[e])), q);
                }
            }
        }
    }

    if col >= p.n {
        return;
    }
    var bias8 = Pair(vec4<f32>(0.0), vec4<f32>(0.0));
    if (p.flags & 1u) != 0u {
        bias8 = split(bias[col0 / 8u]);
    }
    let cbase = wg.z * p.c_bs;
    for (var j = 0u; j < TJ; j++) {
        for (var e = 0u; e < 8u; e++) {
            let row = row0 + 8u * j + e;
            if row < p.m {
                let ci = (cbase + row * p.n + col0) / 8u;
                var v = Pair(acc[j][e][0] + bias8[0], acc[j][e][1] + bias8[1]);
                if (p.flags & 2u) != 0u {
                    let old = split(c[ci]);
                    v = Pair(v[0] + old[0], v[1] + old[1]);
                }
                c[ci] = join(v);
            }
        }
    }
}
