// C = op(A)·op(B) (+ bias) (+ C), tuned for llvmpipe (lavapipe): one workgroup is one 8-lane
// subgroup, and every lane computes TM rows x 4*NB adjacent columns of C.
//
// On llvmpipe every storage-buffer load is a loop over the 8 lanes, even when all lanes read the
// same address, so this kernel spends as few load instructions per FMA as it can:
//  - B is read as vec4 (4 floats per lane per load) and each value feeds TM rows;
//  - A is read cooperatively: each lane loads a different vec4 (8 lanes x 4 = 32 values of k for
//    one row); the lanes then take turns: lane 0's registers are broadcast to all lanes and the
//    registers rotate by one lane (both are register permutes on llvmpipe, not loads);
//  - llvmpipe blends every write to a loop-carried variable with the loop's execution mask, so
//    the four k-steps of a quad are chained in temporaries and each accumulator is written once.
// Loops that must stay rolled (k, the epilogue) keep the shader small: Mesa's compile time grows
// faster than linearly with the unrolled size.
// Transposes and alignment are template constants. ALIGNED means rows of A, B and C have a
// multiple of 4 elements, so every vec4 access starts on a 16-byte boundary; otherwise a vec4
// is assembled from two aligned reads, and C is written one float at a time.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
// The same buffer as c, for vec4 stores when ALIGNED.
@group(0) @binding(5) var<storage, read_write> c4: array<vec4<f32>>;

const TM: u32 = {{TM}}u;
const NB: u32 = {{NB}}u;
const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
const ALIGNED: bool = {{ALIGNED}};

alias Acc = array<array<vec4<f32>, NB>, TM>;
alias Regs = array<vec4<f32>, TM>;
// B values of four consecutive k: [t][cc] holds columns 4t..4t+3 of this lane at k = k4 + cc.
alias Quad = array<array<vec4<f32>, 4>, NB>;

// Four consecutive floats from two aligned vec4 reads, starting `s` floats into `lo`.
fn shift4(lo: vec4<f32>, hi: vec4<f32>, s: u32) -> vec4<f32> {
    let v = select(lo, vec4<f32>(lo.yzw, hi.x), s == 1u);
    let w = select(vec4<f32>(lo.zw, hi.xy), vec4<f32>(lo.w, hi.xyz), s == 3u);
    return select(v, w, s >= 2u);
}

// Elements e..e+3 of A (e % 4 == 0 when ALIGNED); reads stay inside the binding.
fn a4(e: u32) -> vec4<f32> {
    if ALIGNED {
        return a[e / 4u];
    }
    return shift4(a[e / 4u], a[min(e / 4u + 1u, arrayLength(&a) - 1u)], e % 4u);
}

fn b4(e: u32) -> vec4<f32> {
    if ALIGNED {
        return b[e / 4u];
    }
    return shift4(b[e / 4u], b[min(e / 4u + 1u, arrayLength(&b) - 1u)], e % 4u);
}

// Zero where k + (0, 1, 2, 3) is past the end of k (the last block is partial).
fn mask_k(v: vec4<f32>, k: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), v, k + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.k));
}

// Last row (column) index a vec4 read along rows (columns) may start at: the start of the last
// group of 4, so aligned reads stay aligned; rows and columns beyond the matrix read real data
// that ends up in outputs nobody stores.
fn last4(len: u32) -> u32 {
    return (len - 1u) & ~3u;
}

// This lane's share of an A block. Not transposed: register i holds row i at k = kl..kl+3.
// Transposed: register 4g + cc holds rows 4g..4g+3 at k = kl + cc.
fn load_a_block(abase: u32, row0: u32, kl: u32) -> Regs {
    var r: Regs;
    for (var i = 0u; i < TM; i++) {
        if TRANS_A {
            let k = kl + i % 4u;
            let rows = min(row0 + 4u * (i / 4u), last4(p.m));
            let v = a4(abase + min(k, p.k - 1u) * p.m + rows);
            r[i] = select(vec4<f32>(0.0), v, k < p.k);
        } else {
            let row = min(row0 + i, p.m - 1u);
            r[i] = mask_k(a4(abase + row * p.k + min(kl, last4(p.k))), kl);
        }
    }
    return r;
}

// Value of row i at step cc of a quad, from the registers broadcast for the quad.
fn a_value(ab: Regs, i: u32, cc: u32) -> f32 {
    if TRANS_A {
        return ab[4u * (i / 4u) + cc][i % 4u];
    }
    return ab[i][cc];
}

// B at k4..k4+3 for this lane's columns, zero past the end of k.
fn load_b_quad(bbase: u32, col0: u32, k4: u32) -> Quad {
    var q: Quad;
    for (var t = 0u; t < NB; t++) {
        if TRANS_B {
            var col: array<vec4<f32>, 4>;
            for (var e = 0u; e < 4u; e++) {
                let j = min(col0 + 4u * t + e, p.n - 1u);
                col[e] = mask_k(b4(bbase + j * p.k + min(k4, last4(p.k))), k4);
            }
            for (var cc = 0u; cc < 4u; cc++) {
                q[t][cc] = vec4<f32>(col[0][cc], col[1][cc], col[2][cc], col[3][cc]);
            }
        } else {
            let j = min(col0 + 4u * t, last4(p.n));
            for (var cc = 0u; cc < 4u; cc++) {
                let k = k4 + cc;
                let v = b4(bbase + min(k, p.k - 1u) * p.n + j);
                q[t][cc] = select(vec4<f32>(0.0), v, k < p.k);
            }
        }
    }
    return q;
}

// acc += the four k-steps of a quad, summed in order, written once.
fn kquad(acc: ptr<function, Acc>, ab: Regs, q: Quad) {
    for (var i = 0u; i < TM; i++) {
        for (var t = 0u; t < NB; t++) {
            var s = fma(vec4<f32>(a_value(ab, i, 0u)), q[t][0], (*acc)[i][t]);
            s = fma(vec4<f32>(a_value(ab, i, 1u)), q[t][1], s);
            s = fma(vec4<f32>(a_value(ab, i, 2u)), q[t][2], s);
            (*acc)[i][t] = fma(vec4<f32>(a_value(ab, i, 3u)), q[t][3], s);
        }
    }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let row0 = wg.y * TM;
    let col0 = (wg.x * 8u + lane) * 4u * NB;
    let abase = wg.z * p.a_bs;
    let bbase = wg.z * p.b_bs;
    var acc: Acc;
    for (var i = 0u; i < TM; i++) {
        for (var t = 0u; t < NB; t++) { acc[i][t] = vec4<f32>(0.0); }
    }

    // Blocks of 32 values of k: lane l loads k0 + 4l .. k0 + 4l + 3 of A; at step q every lane
    // sees lane q's share through `ar` (rotated q times) broadcast from lane 0.
    let next = (lane + 1u) & 7u;
    for (var k0 = 0u; k0 < p.k; k0 += 32u) {
        var ar = load_a_block(abase, row0, k0 + 4u * lane);
        for (var q = 0u; q < 8u; q++) {
            var ab: Regs;
            for (var i = 0u; i < TM; i++) {
                ab[i] = subgroupBroadcast(ar[i], 0u);
                ar[i] = subgroupShuffle(ar[i], next);
            }
            kquad(&acc, ab, load_b_quad(bbase, col0, k0 + 4u * q));
        }
    }

    // Epilogue as a rolled loop over a staging copy.
    var bias4: array<vec4<f32>, NB>;
    if (p.flags & 1u) != 0u {
        for (var t = 0u; t < NB; t++) {
            for (var e = 0u; e < 4u; e++) { bias4[t][e] = bias[min(col0 + 4u * t + e, p.n - 1u)]; }
        }
    }
    var out: array<vec4<f32>, TM * NB>;
    for (var i = 0u; i < TM; i++) {
        for (var t = 0u; t < NB; t++) { out[i * NB + t] = acc[i][t] + bias4[t]; }
    }
    let cbase = wg.z * p.c_bs;
    for (var x = 0u; x < TM * NB; x++) {
        let row = row0 + x / NB;
        let col = col0 + 4u * (x % NB);
        let ci = cbase + row * p.n + col;
        if ALIGNED {
            if row < p.m && col < p.n {
                var v = out[x];
                if (p.flags & 2u) != 0u { v += c4[ci / 4u]; }
                c4[ci / 4u] = v;
            }
        } else if row < p.m {
            for (var e = 0u; e < 4u; e++) {
                if col + e < p.n {
                    var v = out[x][e];
                    if (p.flags & 2u) != 0u { v += c[ci + e]; }
                    c[ci + e] = v;
                }
            }
        }
    }
}
