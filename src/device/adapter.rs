//! Finding adapters and choosing one: discrete over integrated over CPU, or the user's pick.

use super::DeviceError;

/// Environment variable equivalent of `--adapter`.
pub const ADAPTER_ENV: &str = "NASGPU_ADAPTER";

/// Creates the wgpu instance. `WGPU_BACKEND` is honoured; without it we use the primary
/// backends (Vulkan, Metal, DX12), since GL's compute support is too limited for our kernels.
pub fn create_instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    desc.flags = wgpu::InstanceFlags::from_build_config().with_env();
    wgpu::Instance::new(desc)
}

/// All adapters of the instance, in the order `nasgpu devices` numbers them.
pub fn list_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    pollster::block_on(instance.enumerate_adapters(backends))
}

/// One line naming an adapter: "name (backend, type)".
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// Higher is better: the order in which adapters are preferred when the user picks none.
fn preference(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 2,
        wgpu::Backend::Gl => 1,
        _ => 0,
    };
    (kind, backend)
}

/// Picks an adapter: `wanted` (index or case-insensitive name substring) if given, else the
/// `NASGPU_ADAPTER` environment variable, else the most preferred one.
pub fn choose_adapter(
    instance: &wgpu::Instance,
    wanted: Option<&str>,
) -> Result<wgpu::Adapter, DeviceError> {
    let adapters = list_adapters(instance);
    let i = chosen_index(&adapters, wanted)?;
    Ok(adapters.into_iter().nth(i).expect("index in range"))
}

/// Index in `adapters` of the one `choose_adapter` would pick for `wanted` (so `nasgpu devices`
/// can mark it); `NoAdapter` if the list is empty, `AdapterNotFound` if `wanted` matches none.
pub fn chosen_index(
    adapters: &[wgpu::Adapter],
    wanted: Option<&str>,
) -> Result<usize, DeviceError> {
    if adapters.is_empty() {
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        return Err(DeviceError::NoAdapter {
            backends: format!("{backends:?}"),
        });
    }
    let env_choice = std::env::var(ADAPTER_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty());
    let wanted = wanted.map(str::to_string).or(env_choice);
    let Some(wanted) = wanted else {
        return Ok((0..adapters.len())
            .max_by_key(|&i| (preference(&adapters[i].get_info()), std::cmp::Reverse(i)))
            .expect("non-empty"));
    };
    let wanted = wanted.trim();
    // A number is an index when there is such an adapter, else part of a name ("4090").
    let index = wanted.parse::<usize>().ok().filter(|&i| i < adapters.len());
    let needle = wanted.to_lowercase();
    adapters
        .iter()
        .enumerate()
        .position(|(i, a)| {
            Some(i) == index
                || (index.is_none() && a.get_info().name.to_lowercase().contains(&needle))
        })
        .ok_or_else(|| DeviceError::AdapterNotFound {
            wanted: wanted.to_string(),
            available: adapters.iter().map(|a| describe(&a.get_info())).collect(),
        })
}
