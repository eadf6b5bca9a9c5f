// C = op(A)·op(B) (+ bias) (+ C) for real GPUs: workgroup shared-memory tiling with register
// blocking. A workgroup computes a BM x BN tile of C; each invocation a TM x TN block of it.
// Per step of BK values of k, the workgroup stages op(A)[BM x BK] and op(B)[BK x BN] in shared
// memory (zero outside the matrices), then every invocation accumulates its block from there.
// Transposes are element strides in the uniform, so one pipeline serves all four combinations.
// Each output is one fixed-order sum over k, so reruns are bit-identical.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const BK: u32 = {{BK}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const WX: u32 = BN / TN;
const WY: u32 = BM / TM;
const THREADS: u32 = WX * WY;

// k-major tiles, so the inner loop reads TM (TN) consecutive floats.
var<workgroup> ta: array<f32, BK * BM>;
var<workgroup> tb: array<f32, BK * BN>;

@compute @workgroup_size(WX, WY)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let row0 = wg.y * BM;
    let col0 = wg.x * BN;
    let abase = wg.z * p.a_bs;
    let bbase = wg.z * p.b_bs;
    var acc: array<array<f32, TN>, TM>;
    for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; }
    }

    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // Consecutive invocations read consecutive addresses (the operand's unit stride).
        for (var e = tid; e < BM * BK; e += THREADS) {
            var i = e / BK;
            var kk = e % BK;
            if p.a_cs != 1u {
                i = e % BM;
                kk = e / BM;
            }
            let row = row0 + i;
            let k = k0 + kk;
            var v = 0.0;
            if row < p.m && k < p.k { v = a[abase + row * p.a_rs + k * p.a_cs]; }
            ta[kk * BM + i] = v;
        }
        for (var e = tid; e < BK * BN; e += THREADS) {
            var kk = e / BN;
            var j = e % BN;
            if p.b_cs != 1u {
                kk = e % BK;
                j = e / BK;
            }
            let col = col0 + j;
            let k = k0 + kk;
            var v = 0.0;
            if col < p.n && k < p.k { v = b[bbase + k * p.b_rs + col * p.b_cs]; }
            tb[kk * BN + j] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var av: array<f32, TM>;
            var bv: array<f32, TN>;
            for (var i = 0u; i < TM; i++) { av[i] = ta[kk * BM + lid.y * TM + i]; }
            for (var j = 0u; j < TN; j++) { bv[j] = tb[kk * BN + lid.x * TN + j]; }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TN; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
            }
        }
        workgroupBarrier();
    }

    let cbase = wg.z * p.c_bs;
    for (var i = 0u; i < TM; i++) {
        let row = row0 + lid.y * TM + i;
        for (var j = 0u; j < TN; j++) {
            let col = col0 + lid.x * TN + j;
            if row < p.m && col < p.n {
                let ci = cbase + row * p.n + col;
                var v = acc[i][j];
                if (p.flags & 1u) != 0u { v += bias[col]; }
                if (p.flags & 2u) != 0u { v += c[ci]; }
                c[ci] = v;
            }
        }
    }
}
