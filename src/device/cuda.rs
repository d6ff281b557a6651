//! burn-cuda, behind the `cuda` feature.

use super::{Device, DeviceError};

#[cfg(not(feature = "cuda"))]
pub fn probe(_index: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::CudaNotCompiled)
}

/// Runs a tiny computation on `cuda:index` (which also compiles a kernel, so a
/// missing NVRTC shows here).
#[cfg(feature = "cuda")]
pub fn probe(index: usize) -> Result<Device, DeviceError> {
    use burn::backend::cuda::CudaDevice;
    use burn::backend::Cuda;
    use burn::tensor::Tensor;

    super::probe::answers(|| {
        let device = CudaDevice::new(index);
        Tensor::<Cuda, 1>::ones([4], &device).sum().into_scalar()
    })
    .map(|()| Device::Cuda(index))
    .map_err(|reason| DeviceError::CudaUnavailable { index, reason })
}
