//! burn-wgpu through Vulkan (SPIR-V kernels), behind the `wgpu` feature: any GPU
//! with a Vulkan driver (NVIDIA, AMD, Intel; Apple through MoltenVK), and Mesa's
//! lavapipe, a Vulkan device on the CPU, which is how CI runs burn's CubeCL code.
//!
//! `wgpu:N` is the Nth adapter of the Vulkan loader's list, as `fer devices` shows it.
//!
//! burn is built without its `fusion` and `autotune` features for this backend:
//! together they give silently wrong training results on Vulkan in burn 0.21
//! (tracel-ai/burn#5079, #5257), and autotune alone has picked wrong 1×1
//! convolution kernels on wgpu (#5626).

use std::fmt;

use serde::Serialize;

use super::{Device, DeviceError};

/// What kind of device an adapter is, as the driver says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Discrete,
    Integrated,
    Virtual,
    /// Runs on the CPU (lavapipe, SwiftShader).
    Software,
    Other,
}

impl AdapterKind {
    /// Worth choosing over the CPU kernels without being asked.
    pub fn is_hardware(self) -> bool {
        matches!(self, AdapterKind::Discrete | AdapterKind::Integrated)
    }

    /// The order `wgpu` without an index tries them in.
    fn preference(self) -> u8 {
        match self {
            AdapterKind::Discrete => 0,
            AdapterKind::Integrated => 1,
            AdapterKind::Virtual => 2,
            AdapterKind::Software => 3,
            AdapterKind::Other => 4,
        }
    }
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdapterKind::Discrete => "discrete GPU",
            AdapterKind::Integrated => "integrated GPU",
            AdapterKind::Virtual => "virtual GPU",
            AdapterKind::Software => "software (on the CPU)",
            AdapterKind::Other => "unknown kind",
        })
    }
}

/// One Vulkan adapter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Adapter {
    /// `--device wgpu:INDEX`.
    pub index: usize,
    pub name: String,
    pub kind: AdapterKind,
    /// The driver's name and version, e.g. "llvmpipe, Mesa 22.3.6 (LLVM 15.0.6)".
    pub driver: String,
}

/// Adapters in the order `fer devices` lists them; the first adapter of each kind is
/// tried first when no index is given.
fn by_preference(adapters: &[Adapter]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..adapters.len()).collect();
    order.sort_by_key(|&index| adapters[index].kind.preference());
    order
}

/// `wgpu`: the first adapter, discrete before integrated before virtual before
/// software, that answers a test computation.
pub fn preferred() -> Result<Device, DeviceError> {
    let adapters = adapters();
    let mut first_error = None;
    for index in by_preference(adapters) {
        match probe(index) {
            Ok(device) => return Ok(device),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(if cfg!(feature = "wgpu") {
        DeviceError::NoWgpuAdapter
    } else {
        DeviceError::WgpuNotCompiled
    }))
}

/// `auto`'s choice among the adapters: a discrete or integrated GPU that answers.
pub fn best_hardware() -> Option<Device> {
    let adapters = adapters();
    by_preference(adapters)
        .into_iter()
        .filter(|&index| adapters[index].kind.is_hardware())
        .find_map(|index| probe(index).ok())
}

#[cfg(not(feature = "wgpu"))]
pub use disabled::*;
#[cfg(feature = "wgpu")]
pub use enabled::*;

#[cfg(not(feature = "wgpu"))]
mod disabled {
    use super::*;

    pub fn adapters() -> &'static [Adapter] {
        &[]
    }

    pub fn probe(_index: usize) -> Result<Device, DeviceError> {
        Err(DeviceError::WgpuNotCompiled)
    }

    pub fn quiet_headless_loader() {}
}

#[cfg(feature = "wgpu")]
mod enabled {
    use std::sync::OnceLock;

    use burn::backend::wgpu::WgpuDevice;
    use burn::tensor::Tensor;

    use super::*;

    /// burn's Vulkan backend: `Wgpu` with SPIR-V kernels and `u8` booleans.
    pub type Backend = burn::backend::Vulkan;

    /// The Vulkan adapters, asked once per process.
    pub fn adapters() -> &'static [Adapter] {
        static ADAPTERS: OnceLock<Vec<Adapter>> = OnceLock::new();
        ADAPTERS.get_or_init(enumerate)
    }

    fn enumerate() -> Vec<Adapter> {
        let backends = ::wgpu::Backends::VULKAN;
        let instance = ::wgpu::Instance::new(::wgpu::InstanceDescriptor {
            backends,
            ..::wgpu::InstanceDescriptor::new_without_display_handle()
        });
        futures_lite::future::block_on(instance.enumerate_adapters(backends))
            .into_iter()
            .enumerate()
            .map(|(index, adapter)| {
                let info = adapter.get_info();
                Adapter {
                    index,
                    name: info.name,
                    kind: kind_of(info.device_type),
                    driver: [info.driver, info.driver_info]
                        .into_iter()
                        .filter(|part| !part.is_empty())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })
            .collect()
    }

    fn kind_of(device_type: ::wgpu::DeviceType) -> AdapterKind {
        match device_type {
            ::wgpu::DeviceType::DiscreteGpu => AdapterKind::Discrete,
            ::wgpu::DeviceType::IntegratedGpu => AdapterKind::Integrated,
            ::wgpu::DeviceType::VirtualGpu => AdapterKind::Virtual,
            ::wgpu::DeviceType::Cpu => AdapterKind::Software,
            ::wgpu::DeviceType::Other => AdapterKind::Other,
        }
    }

    /// How burn names adapter `index`: CubeCL counts adapters of one kind in the
    /// loader's order (`DiscreteGpu(1)` is the second discrete one), and addresses
    /// only the first software adapter and none of unknown kind.
    fn target(index: usize) -> Option<WgpuDevice> {
        let adapters = adapters();
        let kind = adapters.get(index)?.kind;
        let rank = adapters[..index]
            .iter()
            .filter(|other| other.kind == kind)
            .count();
        match kind {
            AdapterKind::Discrete => Some(WgpuDevice::DiscreteGpu(rank)),
            AdapterKind::Integrated => Some(WgpuDevice::IntegratedGpu(rank)),
            AdapterKind::Virtual => Some(WgpuDevice::VirtualGpu(rank)),
            AdapterKind::Software if rank == 0 => Some(WgpuDevice::Cpu),
            AdapterKind::Software | AdapterKind::Other => None,
        }
    }

    /// burn's device for a probed adapter.
    pub fn burn_device(index: usize) -> WgpuDevice {
        target(index).unwrap_or_default()
    }

    /// Runs a tiny computation on adapter `index` (which compiles a kernel, so a
    /// driver without what CubeCL needs shows here).
    pub fn probe(index: usize) -> Result<Device, DeviceError> {
        let adapters = adapters();
        let Some(adapter) = adapters.get(index) else {
            return Err(match adapters.len() {
                0 => DeviceError::NoWgpuAdapter,
                count => DeviceError::NoSuchWgpuAdapter { index, count },
            });
        };
        let unusable = |reason: String| DeviceError::WgpuUnavailable {
            index,
            name: adapter.name.clone(),
            reason,
        };
        let device = target(index).ok_or_else(|| {
            unusable("burn cannot address a second software adapter or one of unknown kind".into())
        })?;
        super::super::probe::answers(move || {
            Tensor::<Backend, 1>::ones([4], &device).sum().into_scalar()
        })
        .map(|()| Device::Wgpu(index))
        .map_err(unusable)
    }

    /// Mesa's device-select layer (an implicit Vulkan layer) asks Wayland for the
    /// default GPU, and libwayland prints "error: XDG_RUNTIME_DIR is invalid or not
    /// set in the environment." several times on every headless server. fer picks the
    /// adapter itself, so where that directory is missing the layer is turned off
    /// (its documented switch, NODEVICE_SELECT); a user's own setting is kept.
    pub fn quiet_headless_loader() {
        let runtime_dir_valid = std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| std::path::Path::new(&dir).is_dir());
        if !runtime_dir_valid && std::env::var_os("NODEVICE_SELECT").is_none() {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(index: usize, kind: AdapterKind) -> Adapter {
        Adapter {
            index,
            name: format!("adapter {index}"),
            kind,
            driver: String::new(),
        }
    }

    #[test]
    fn hardware_is_preferred_and_software_comes_last() {
        let adapters = [
            adapter(0, AdapterKind::Software),
            adapter(1, AdapterKind::Integrated),
            adapter(2, AdapterKind::Other),
            adapter(3, AdapterKind::Discrete),
            adapter(4, AdapterKind::Integrated),
        ];
        assert_eq!(by_preference(&adapters), vec![3, 1, 4, 0, 2]);
        assert!(!AdapterKind::Software.is_hardware());
        assert!(AdapterKind::Integrated.is_hardware());
    }
}
