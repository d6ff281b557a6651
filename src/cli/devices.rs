//! `fer devices`: the backends this fer was built with and what each one finds.
//! Always exits 0: a missing GPU is an answer, not an error.

use anyhow::Result;
use serde::Serialize;

use super::args::DevicesArgs;
use fer::device::wgpu::{self as vulkan, AdapterKind};
#[cfg(feature = "cuda")]
use fer::device::{self, DeviceRequest};

#[derive(Serialize)]
struct Report {
    backends: Vec<BackendReport>,
}

#[derive(Serialize)]
struct BackendReport {
    /// What `--device` takes.
    name: &'static str,
    backend: &'static str,
    compiled: bool,
    /// One line: what was found, or why nothing was.
    status: String,
    devices: Vec<DeviceReport>,
}

#[derive(Serialize)]
struct DeviceReport {
    /// `--device` value for this one.
    id: String,
    name: String,
    /// CPU: threads this process may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_bytes: Option<u64>,
    /// wgpu: discrete, integrated, virtual, software or other.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<AdapterKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<String>,
    /// Whether burn ran a test computation on it.
    usable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

pub fn run(args: DevicesArgs) -> Result<()> {
    let report = Report {
        backends: vec![cpu_backend(), cuda_backend(), wgpu_backend()],
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

fn render(report: &Report) -> String {
    let mut text = String::new();
    for backend in &report.backends {
        text.push_str(&format!(
            "{:<5} {}: {}\n",
            backend.name, backend.backend, backend.status
        ));
        for device in &backend.devices {
            let mut details = vec![device.name.clone()];
            details.extend(device.kind.map(|kind| kind.to_string()));
            details.extend(
                device
                    .driver
                    .as_ref()
                    .map(|driver| format!("driver {driver}")),
            );
            details.extend(device.threads.map(|threads| format!("{threads} threads")));
            details.push(match device.memory_bytes {
                Some(bytes) => format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64),
                None if device.threads.is_none() && device.kind.is_none() => {
                    "memory: unknown".into()
                }
                None => String::new(),
            });
            details.retain(|detail| !detail.is_empty());
            let verdict = match &device.problem {
                None => "usable".to_string(),
                Some(problem) => format!("not usable: {problem}"),
            };
            text.push_str(&format!(
                "  {:<7} {} ({verdict})\n",
                device.id,
                details.join(", ")
            ));
        }
    }
    text
}

fn cpu_backend() -> BackendReport {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let name = cpu_model_name().unwrap_or_else(|| "unknown CPU".into());
    BackendReport {
        name: "cpu",
        backend: "burn-flex",
        compiled: true,
        status: "always available".into(),
        devices: vec![DeviceReport {
            id: "cpu".into(),
            name,
            threads: Some(threads),
            memory_bytes: None,
            kind: None,
            driver: None,
            usable: true,
            problem: None,
        }],
    }
}

/// The "model name" line of /proc/cpuinfo (Linux).
fn cpu_model_name() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
}

/// Every Vulkan adapter, each asked for a test computation.
fn wgpu_backend() -> BackendReport {
    if !cfg!(feature = "wgpu") {
        return BackendReport {
            name: "wgpu",
            backend: "burn-wgpu (Vulkan)",
            compiled: false,
            status: "not compiled in (build with --features wgpu)".into(),
            devices: Vec::new(),
        };
    }
    let devices: Vec<DeviceReport> = vulkan::adapters()
        .iter()
        .map(|adapter| {
            let problem = vulkan::probe(adapter.index).err().map(|e| e.reason());
            DeviceReport {
                id: format!("wgpu:{}", adapter.index),
                name: adapter.name.clone(),
                threads: None,
                memory_bytes: None,
                kind: Some(adapter.kind),
                driver: Some(adapter.driver.clone()).filter(|driver| !driver.is_empty()),
                usable: problem.is_none(),
                problem,
            }
        })
        .collect();
    let status = match devices.len() {
        0 => "no Vulkan adapter found (is a Vulkan driver installed?)".to_string(),
        count => format!("{count} Vulkan adapter(s); --device auto never picks a software one"),
    };
    BackendReport {
        name: "wgpu",
        backend: "burn-wgpu (Vulkan)",
        compiled: true,
        status,
        devices,
    }
}

/// Asks burn to run a test computation on `cuda:index` (which also compiles a kernel,
/// so a missing NVRTC shows here).
#[cfg(feature = "cuda")]
fn probe(index: usize) -> Option<String> {
    device::resolve(DeviceRequest::Cuda(index))
        .err()
        .map(|e| e.reason())
}

#[cfg(not(feature = "cuda"))]
fn cuda_backend() -> BackendReport {
    BackendReport {
        name: "cuda",
        backend: "burn-cuda",
        compiled: false,
        status: "not compiled in (build with --features cuda)".into(),
        devices: Vec::new(),
    }
}

#[cfg(feature = "cuda")]
fn cuda_backend() -> BackendReport {
    let (status, devices) = match driver::query() {
        Ok(driver) => {
            let devices: Vec<DeviceReport> = driver
                .gpus
                .into_iter()
                .map(|gpu| {
                    let problem = probe(gpu.index);
                    DeviceReport {
                        id: format!("cuda:{}", gpu.index),
                        name: gpu.name,
                        threads: None,
                        memory_bytes: Some(gpu.memory_bytes),
                        kind: None,
                        driver: None,
                        usable: problem.is_none(),
                        problem,
                    }
                })
                .collect();
            let status = match devices.len() {
                0 => format!("driver {} found no GPU", driver.version),
                count => format!("driver {}, {count} GPU(s)", driver.version),
            };
            (status, devices)
        }
        // Without the driver's own answer, burn's attempt says what went wrong.
        Err(error) => {
            let status = match probe(0) {
                Some(reason) => format!("no usable GPU: {error}; burn-cuda says: {reason}"),
                None => format!("{error}, yet burn-cuda ran on cuda:0"),
            };
            (status, Vec::new())
        }
    };
    BackendReport {
        name: "cuda",
        backend: "burn-cuda",
        compiled: true,
        status,
        devices,
    }
}

/// The GPUs' names and memory, from the CUDA driver API. burn 0.21 does not expose
/// them (CubeCL keeps the driver's answers to itself), so fer asks `libcuda`
/// directly, loaded the way burn-cuda loads it: at run time, with dlopen.
#[cfg(feature = "cuda")]
mod driver {
    use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

    pub struct Gpu {
        pub index: usize,
        pub name: String,
        pub memory_bytes: u64,
    }

    pub struct Driver {
        /// e.g. "13.0"
        pub version: String,
        pub gpus: Vec<Gpu>,
    }

    const RTLD_NOW: c_int = 2;
    const NAME_BYTES: usize = 256;

    extern "C" {
        fn dlopen(file: *const c_char, flags: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    type Init = unsafe extern "C" fn(c_uint) -> c_int;
    type IntOut = unsafe extern "C" fn(*mut c_int) -> c_int;
    type DeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type DeviceGetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    type DeviceTotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;

    pub fn query() -> Result<Driver, String> {
        // SAFETY: the library names and symbol names are NUL-terminated literals; each
        // symbol is cast to the signature the CUDA driver API documents for it, and
        // every out-pointer points to a live local of the documented type and size.
        unsafe {
            let library = [c"libcuda.so.1", c"libcuda.so"]
                .iter()
                .map(|name| dlopen(name.as_ptr(), RTLD_NOW))
                .find(|handle| !handle.is_null())
                .ok_or("no CUDA driver (libcuda.so.1 not found)")?;
            let symbol = |name: &CStr| {
                let address = dlsym(library, name.as_ptr());
                if address.is_null() {
                    Err(format!("the CUDA driver lacks {}", name.to_string_lossy()))
                } else {
                    Ok(address)
                }
            };
            let init: Init = std::mem::transmute(symbol(c"cuInit")?);
            let driver_version: IntOut = std::mem::transmute(symbol(c"cuDriverGetVersion")?);
            let device_count: IntOut = std::mem::transmute(symbol(c"cuDeviceGetCount")?);
            let device_get: DeviceGet = std::mem::transmute(symbol(c"cuDeviceGet")?);
            let device_name: DeviceGetName = std::mem::transmute(symbol(c"cuDeviceGetName")?);
            let total_memory: DeviceTotalMem = std::mem::transmute(symbol(c"cuDeviceTotalMem_v2")?);

            check(init(0), "cuInit")?;
            let mut version = 0;
            check(driver_version(&mut version), "cuDriverGetVersion")?;
            let mut count = 0;
            check(device_count(&mut count), "cuDeviceGetCount")?;
            let mut gpus = Vec::new();
            for ordinal in 0..count {
                let mut handle = 0;
                check(device_get(&mut handle, ordinal), "cuDeviceGet")?;
                let mut name = [0 as c_char; NAME_BYTES];
                check(
                    device_name(name.as_mut_ptr(), NAME_BYTES as c_int, handle),
                    "cuDeviceGetName",
                )?;
                let mut bytes = 0usize;
                check(total_memory(&mut bytes, handle), "cuDeviceTotalMem")?;
                gpus.push(Gpu {
                    index: ordinal as usize,
                    name: CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned(),
                    memory_bytes: bytes as u64,
                });
            }
            Ok(Driver {
                version: format!("{}.{}", version / 1000, (version % 1000) / 10),
                gpus,
            })
        }
    }

    fn check(result: c_int, call: &str) -> Result<(), String> {
        match result {
            0 => Ok(()),
            100 => Err(format!(
                "{call}: no CUDA-capable device (CUDA_ERROR_NO_DEVICE)"
            )),
            code => Err(format!("{call} failed with CUDA error {code}")),
        }
    }
}
