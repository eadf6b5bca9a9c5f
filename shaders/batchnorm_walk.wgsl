// Shared by the batch-norm elementwise kernels (apply, inference, backward dx), after
// batchnorm_common.wgsl; each of them defines `coefficients(c)`, its four per-channel values.

// Whether a unit can straddle two planes (template slot: vec4 units and plane % 4 != 0). A
// constant, so aligned builds carry no straddle code: lavapipe runs a load under a branch as a
// loop over the lanes even when none of them takes the branch.
const STRADDLES: bool = {{STRADDLES}};

// Elementwise kernels: each invocation handles PER units ROW apart, so ROW adjacent invocations
// cover a contiguous run of ROW * PER units (one sequential stream on CPU Vulkan, whole cache
// lines on GPUs) and a channel's coefficients are loaded once per run rather than per unit.
const PER: u32 = 8u;

// First unit of this invocation (the grid is 1-D, split over x and y past the grid limit);
// it is at or past p.units for surplus invocations.
fn first_unit(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    let i = gid.x + gid.y * nwg.x * WG;
    return (i / ROW) * (ROW * PER) + i % ROW;
}

// Per-channel coefficients as the elementwise kernels walk their units: the channel and
// coefficients (from `coefficients`, defined by each kernel) of the last unit's last element.
struct Walk {
    c: u32,
    k: vec4<f32>,
}

fn start_walk() -> Walk {
    return Walk(p.c, vec4<f32>());
}

// The four coefficients of unit t, per element: a unit that straddles two planes takes the next
// channel's coefficients from the first element of the second plane on (plane >= 4, so a unit
// meets at most two planes).
fn unit_coefficients(t: u32, walk: ptr<function, Walk>) -> array<Unit, 4> {
    let e = t * WIDTH;
    let plane = udiv(e, p.plane, p.rplane);
    let offset = e - plane * p.plane;
    let c = plane - udiv(plane, p.c, p.rc) * p.c;
    if c != (*walk).c {
        *walk = Walk(c, coefficients(c));
    }
    let lo = (*walk).k;
    var k = array<Unit, 4>(Unit(lo.x), Unit(lo.y), Unit(lo.z), Unit(lo.w));
    if STRADDLES {
        if offset + WIDTH > p.plane {
            let next = select(c + 1u, 0u, c + 1u == p.c);
            *walk = Walk(next, coefficients(next));
            let hi = (*walk).k;
            let m = from_element(p.plane - offset);
            k = array<Unit, 4>(
                select(k[0], Unit(hi.x), m),
                select(k[1], Unit(hi.y), m),
                select(k[2], Unit(hi.z), m),
                select(k[3], Unit(hi.w), m),
            );
        }
    }
    return k;
}
