// The parameters shared by the matmul kernels (matmul_tiled, matmul_subgroup,
// matmul_subgroup64), prepended to each. Strides are in floats:
// op(A)[i][k] = a[a_bs * batch + i * a_rs + k * a_cs], op(B)[k][j] = b[b_bs * batch + k * b_rs +
// j * b_cs], C is row-major with c_bs floats per batch entry.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32, // 1: add bias, 2: add the previous C
    a_rs: u32,
    a_cs: u32,
    b_rs: u32,
    b_cs: u32,
    a_bs: u32,
    b_bs: u32,
    c_bs: u32,
    _pad: u32,
}
