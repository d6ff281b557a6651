//! Choosing the backend, once, at the edge: `--device auto|cpu|cuda[:N]`.
//! Everything below is generic over the backend; [`BackendTask`] is how a caller
//! gets called back with the concrete one.

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
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DeviceError {
    #[error("unknown device '{0}': use auto, cpu, cuda or cuda:N")]
    Unknown(String),
    #[error("CUDA was requested but this fer was built without it: rebuild with `cargo build --release --features cuda`")]
    CudaNotCompiled,
    #[error("CUDA device {index} is not usable: {reason}")]
    CudaUnavailable { index: usize, reason: String },
}

impl FromStr for DeviceRequest {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" | "gpu" => Ok(DeviceRequest::Cuda(0)),
            _ => lower
                .strip_prefix("cuda:")
                .and_then(|index| index.parse().ok())
                .map(DeviceRequest::Cuda)
                .ok_or_else(|| DeviceError::Unknown(text.to_string())),
        }
    }
}

/// A device that answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu (burn-flex, {} threads)", cpu_threads()),
            #[cfg(feature = "cuda")]
            Device::Cuda(index) => write!(f, "cuda:{index}"),
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

/// Resolves `request` to a device that works; `auto` falls back to the CPU.
pub fn resolve(request: DeviceRequest) -> Result<Device, DeviceError> {
    match request {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Auto => Ok(cuda::probe(0).unwrap_or(Device::Cpu)),
        DeviceRequest::Cuda(index) => cuda::probe(index),
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
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    use super::{Device, DeviceError};

    pub fn probe(_index: usize) -> Result<Device, DeviceError> {
        Err(DeviceError::CudaNotCompiled)
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::{Device, DeviceError};
    use burn::backend::cuda::CudaDevice;
    use burn::backend::Cuda;
    use burn::tensor::Tensor;

    /// burn-cuda loads the driver lazily and panics when it is missing, so the probe
    /// runs a tiny computation with the panic caught and its message kept quiet.
    pub fn probe(index: usize) -> Result<Device, DeviceError> {
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let answer = std::panic::catch_unwind(|| {
            let device = CudaDevice::new(index);
            let sum = Tensor::<Cuda, 1>::ones([4], &device).sum().into_scalar();
            sum == 4.0
        });
        std::panic::set_hook(previous_hook);
        match answer {
            Ok(true) => Ok(Device::Cuda(index)),
            Ok(false) => Err(DeviceError::CudaUnavailable {
                index,
                reason: "a test computation gave a wrong result".into(),
            }),
            Err(panic) => Err(DeviceError::CudaUnavailable {
                index,
                reason: panic_message(&panic),
            }),
        }
    }

    fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "no driver or GPU found".into());
        text.lines().next().unwrap_or_default().to_string()
    }
}
