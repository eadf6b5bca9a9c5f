// The src and weight bindings of the conv kernels that read one vec4<f32> (four channels) per load.
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wts: array<vec4<f32>>;
