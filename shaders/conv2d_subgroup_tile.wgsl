// Shared by conv2d_subgroup.wgsl and conv2d_subgroup64.wgsl (after conv2d_common.wgsl; PX, RC
// and PX8 = PX / 8 come from the kernel): where a subgroup task sits, which src pixels each lane
// stages and reads at a tap, and the store of a lane's PX x RC accumulators. Subgroup k of the
// workgroup is invocations 8k..8k+7 (so on lavapipe, the only device the subgroup variants are
// chosen for); `blocks_c` counts groups of 8 * RC channels and `items` tasks per phase.

struct Task {
    live: bool,
    ah: Axis,
    aw: Axis,
    m0: u32,      // first dst pixel, flattened over image, row and column of the phase
    c0: u32,      // this lane's first dst channel
    per_img: u32, // dst pixels of one image in the phase
    pixels: u32,  // dst pixels of the phase
}

fn subgroup_task(wid: vec3<u32>, nwg: vec3<u32>, li: u32, lane: u32) -> Task {
    let task = (wid.x + wid.y * nwg.x) * 8u + li / 8u;
    let live = task < p.items;
    let tk = select(0u, task, live);
    let tr = p.transposed != 0u;
    let per_img = p.rows * p.cols;
    return Task(
        live,
        axis(wid.z / p.s_w, p.k_h, p.s_h, p.pad_h, tr),
        axis(wid.z % p.s_w, p.k_w, p.s_w, p.pad_w, tr),
        (tk / p.blocks_c) * PX,
        ((tk % p.blocks_c) * 8u + lane) * RC,
        per_img,
        p.n * per_img,
    );
}

// The pixels a lane stages, m0 + 8k + lane, as image, row and column of the phase.
struct Staged {
    n: array<u32, PX8>,
    a: array<u32, PX8>,
    b: array<u32, PX8>,
    ok: array<bool, PX8>,
}

fn staged(t: Task, lane: u32) -> Staged {
    var s: Staged;
    for (var k = 0u; k < PX8; k++) {
        let m = t.m0 + 8u * k + lane;
        s.ok[k] = t.live && m < t.pixels;
        let mm = select(0u, m, s.ok[k]);
        s.n[k] = mm / t.per_img;
        let rest = mm - s.n[k] * t.per_img;
        s.a[k] = rest / p.cols;
        s.b[k] = rest - s.a[k] * p.cols;
    }
    return s;
}

// The src pixel each staged pixel reads at tap (t, u) of the phase (0 outside the image), and
// whether it is inside.
struct TapSources {
    pixel: array<u32, PX8>,
    ok: array<bool, PX8>,
}

fn tap_sources(s: Staged, ah: Axis, aw: Axis, t: u32, u: u32) -> TapSources {
    var r: TapSources;
    for (var k = 0u; k < PX8; k++) {
        let sr = i32(s.a[k] * ah.a_mul) + ah.base + ah.dir * i32(t);
        let sc = i32(s.b[k] * aw.a_mul) + aw.base + aw.dir * i32(u);
        r.ok[k] = s.ok[k] && sr >= 0 && sr < i32(p.src_h) && sc >= 0 && sc < i32(p.src_w);
        let pix = (s.n[k] * p.src_h + u32(sr)) * p.src_w + u32(sc);
        r.pixel[k] = select(0u, pix, r.ok[k]);
    }
    return r;
}

// dst = acc (+ bias) for the lane's PX pixels x RC channels that exist.
fn store_tile(t: Task, acc: ptr<function, array<array<f32, RC>, PX>>) {
    let plane = p.dst_h * p.dst_w;
    for (var i = 0u; i < PX; i++) {
        let m = t.m0 + i;
        if !t.live || m >= t.pixels { break; }
        let n = m / t.per_img;
        let rest = m - n * t.per_img;
        let a = rest / p.cols;
        let row = t.ah.dst_off + a * t.ah.dst_step;
        let col = t.aw.dst_off + (rest - a * p.cols) * t.aw.dst_step;
        if row >= p.dst_h || col >= p.dst_w { continue; }
        for (var c = 0u; c < RC; c++) {
            let co = t.c0 + c;
            if co >= p.dst_c { break; }
            var b = 0.0;
            if p.has_bias != 0u { b = bias[co]; }
            dst[(n * p.dst_c + co) * plane + row * p.dst_w + col] = (*acc)[i][c] + b;
        }
    }
}
