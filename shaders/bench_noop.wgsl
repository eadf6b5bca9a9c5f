// No-op kernel: one invocation that does nothing observable, so timing it shows the cost of a
// dispatch itself. The store the compiler cannot prove dead keeps the binding (and the dispatch) real.

@group(0) @binding(0) var<storage, read_write> sink: array<u32>;

@compute @workgroup_size(1)
fn noop(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x == 0xffffffffu {
        sink[0] = 1u;
    }
}
