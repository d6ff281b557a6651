//! Choosing the backend, once, at the edge: `--device auto|cpu|cuda[:N]|wgpu[:N]`.
//! Everything below is generic over the backend; [`BackendTask`] is how a caller
//! gets called back with the concrete one.

mod cuda;
pub mod memory;
mod probe;
pub mod wgpu;

use std::fmt;
use std::str::FromStr;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRequest {
    Auto,
    Cpu,
    Cuda(usize),
    /// `wgpu`: the fastest-looking adapter that answers; `wgpu:N`: the Nth that
    /// `fer devices` lists.
    Wgpu(Option<usize>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DeviceError {
    #[error(
        "unknown device '{0}': use auto, cpu, cuda, cuda:N, wgpu or wgpu:N (see `fer devices`)"
    )]
    Unknown(String),
    #[error("CUDA was requested but this fer was built without it: rebuild with `cargo build --release --features cuda`")]
    CudaNotCompiled,
    #[error("CUDA device {index} is not usable: {reason}")]
    CudaUnavailable { index: usize, reason: String },
    #[error("--devices mixes kinds of device: one run trains on one backend, e.g. cuda:0,cuda:1")]
    Mixed,
    #[error("wgpu was requested but this fer was built without it: rebuild with `cargo build --release --features wgpu`")]
    WgpuNotCompiled,
    #[error("no Vulkan adapter found (is a Vulkan driver installed? `vulkaninfo --summary` lists what the loader sees)")]
    NoWgpuAdapter,
    #[error("wgpu:{index} does not exist: `fer devices` lists {count} adapter(s)")]
    NoSuchWgpuAdapter { index: usize, count: usize },
    #[error("wgpu:{index} ({name}) is not usable: {reason}")]
    WgpuUnavailable {
        index: usize,
        name: String,
        reason: String,
    },
}

impl DeviceError {
    /// Why a device that exists did not answer, without the device's name (for a
    /// listing that already names it); any other error as it reads.
    pub fn reason(&self) -> String {
        match self {
            DeviceError::CudaUnavailable { reason, .. }
            | DeviceError::WgpuUnavailable { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

impl FromStr for DeviceRequest {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let indexed = |prefix: &str| {
            lower
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|index| index.parse::<usize>().ok())
        };
        match lower.as_str() {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" | "gpu" => Ok(DeviceRequest::Cuda(0)),
            "wgpu" | "vulkan" => Ok(DeviceRequest::Wgpu(None)),
            _ => indexed("cuda")
                .map(DeviceRequest::Cuda)
                .or_else(|| indexed("wgpu").map(|index| DeviceRequest::Wgpu(Some(index))))
                .ok_or_else(|| DeviceError::Unknown(text.to_string())),
        }
    }
}

/// clap's check of a `--device` value, so a typo fails before any work starts.
pub fn checked_name(text: &str) -> Result<String, DeviceError> {
    text.parse::<DeviceRequest>()
        .map(|_| text.trim().to_string())
}

/// A device that answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(usize),
    /// A position in [`wgpu::adapters`].
    #[cfg(feature = "wgpu")]
    Wgpu(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu (burn-flex, {} threads)", cpu_threads()),
            #[cfg(feature = "cuda")]
            Device::Cuda(index) => write!(f, "cuda:{index}"),
            #[cfg(feature = "wgpu")]
            Device::Wgpu(index) => match wgpu::adapters().get(*index) {
                Some(adapter) => write!(f, "wgpu:{index} ({}, {})", adapter.name, adapter.kind),
                None => write!(f, "wgpu:{index}"),
            },
        }
    }
}

fn cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Something to run with a concrete autodiff backend.
pub trait BackendTask {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device, name: String) -> Self::Output;
}

/// Something to run on several devices of one backend (data-parallel training).
pub trait DevicesTask {
    type Output;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>, name: String) -> Self::Output;
}

/// Runs `task` with the backend of `devices`, which must all be of one kind (one
/// backend per process). The name is the first device's.
pub fn dispatch_devices<T: DevicesTask>(
    devices: &[Device],
    task: T,
) -> Result<T::Output, DeviceError> {
    let Some(first) = devices.first() else {
        return Err(DeviceError::Unknown(String::new()));
    };
    if devices
        .iter()
        .any(|device| std::mem::discriminant(device) != std::mem::discriminant(first))
    {
        return Err(DeviceError::Mixed);
    }
    let name = first.to_string();
    Ok(match first {
        Device::Cpu => task.run::<Autodiff<Flex>>(vec![Default::default(); devices.len()], name),
        #[cfg(feature = "cuda")]
        Device::Cuda(_) => {
            let devices = devices.iter().filter_map(|device| match device {
                Device::Cuda(index) => Some(burn::backend::cuda::CudaDevice::new(*index)),
                _ => None,
            });
            task.run::<Autodiff<burn::backend::Cuda>>(devices.collect(), name)
        }
        #[cfg(feature = "wgpu")]
        Device::Wgpu(_) => {
            let devices = devices.iter().filter_map(|device| match device {
                Device::Wgpu(index) => Some(wgpu::burn_device(*index)),
                _ => None,
            });
            task.run::<Autodiff<wgpu::Backend>>(devices.collect(), name)
        }
    })
}

/// Resolves `request` to a device that works. `auto` tries CUDA, then a hardware
/// Vulkan adapter (never a software one: lavapipe is far slower than the CPU
/// kernels), then the CPU.
pub fn resolve(request: DeviceRequest) -> Result<Device, DeviceError> {
    match request {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Auto => Ok(cuda::probe(0)
            .ok()
            .or_else(wgpu::best_hardware)
            .unwrap_or(Device::Cpu)),
        DeviceRequest::Cuda(index) => cuda::probe(index),
        DeviceRequest::Wgpu(Some(index)) => wgpu::probe(index),
        DeviceRequest::Wgpu(None) => wgpu::preferred(),
    }
}

/// Runs `task` with the backend of `device`.
pub fn dispatch<T: BackendTask>(device: Device, task: T) -> T::Output {
    let name = device.to_string();
    match device {
        Device::Cpu => task.run::<Autodiff<Flex>>(Default::default(), name),
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => task.run::<Autodiff<burn::backend::Cuda>>(
            burn::backend::cuda::CudaDevice::new(index),
            name,
        ),
        #[cfg(feature = "wgpu")]
        Device::Wgpu(index) => task.run::<Autodiff<wgpu::Backend>>(wgpu::burn_device(index), name),
    }
}

/// Settles what the GPU drivers read from the environment; call it first thing in
/// `main`, before any other thread exists.
pub fn prepare_environment() {
    wgpu::quiet_headless_loader();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        let parse = |text: &str| text.parse::<DeviceRequest>();
        assert_eq!(parse("auto"), Ok(DeviceRequest::Auto));
        assert_eq!(parse(" CPU "), Ok(DeviceRequest::Cpu));
        assert_eq!(parse("cuda"), Ok(DeviceRequest::Cuda(0)));
        assert_eq!(parse("cuda:3"), Ok(DeviceRequest::Cuda(3)));
        assert_eq!(parse("wgpu"), Ok(DeviceRequest::Wgpu(None)));
        assert_eq!(parse("vulkan"), Ok(DeviceRequest::Wgpu(None)));
        assert_eq!(parse("wgpu:1"), Ok(DeviceRequest::Wgpu(Some(1))));
        for wrong in ["wgpu:", "wgpu:x", "wgpux", "cuda:-1", "metal", ""] {
            assert_eq!(
                parse(wrong),
                Err(DeviceError::Unknown(wrong.into())),
                "{wrong}"
            );
        }
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_says_how_to_build_it() {
        let error = resolve(DeviceRequest::Wgpu(Some(0))).unwrap_err();
        assert_eq!(error, DeviceError::WgpuNotCompiled);
        assert!(error.to_string().contains("--features wgpu"));
        assert_eq!(resolve(DeviceRequest::Auto), Ok(Device::Cpu));
    }
}
