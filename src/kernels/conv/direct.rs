//! Stride-1 convolutions without a patch matrix ("implicit GEMM").
//!
//! A group of images is copied once, zero-padded, channel by channel: `[channel][image]
//! [padded row][padded column]`. In that layout the input pixel a kernel tap
//! `(ky, kx)` reads for output position `q = image·plane + y·pitch + x` sits at
//! `q + ky·pitch + kx` of its channel's plane, so every row of the patch
//! matrix is a plain shifted slice of the padded copy, read where it lies. Output
//! positions in the padding columns and rows are computed too and dropped; in exchange
//! nothing is copied per tap, no patch matrix is packed, and a register tile (a few
//! output channels × a few vectors of positions) stays in registers for the whole
//! reduction.
//!
//! Neighbours share their padding: a row's right padding is the next row's left one
//! and an image's bottom padding the next image's top, so a row is `padding + width`
//! long and an image `padding + height` rows. A valid output never reads past `padding`
//! zeros on either side, so one gap of `padding` serves both. Against padding each
//! image on all four sides, that drops the work on dropped positions from 44% to 21%
//! of the valid ones at 10×10 (21% to 10% at 20×20, 10% to 5% at 40×40).
//!
//! The input gradient is the same correlation of the padded output gradient with the
//! kernel flipped and its channels swapped; the weight gradient reduces over the
//! positions instead (`add_weight_gradient`).
//!
//! Those register tiles hold a few output channels × vectors of positions. Layers with
//! few positions and whole blocks of 64 output channels take `deep` instead, whose
//! tiles hold output channels across the lanes and read the same padded copy at the
//! valid positions only ([`applies_deep`]).

use std::mem::MaybeUninit;

use std::sync::OnceLock;

use super::ConvGeometry;
use crate::kernels::{simd, Simd};

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod tiles;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod deep;
#[cfg(target_arch = "x86_64")]
mod winograd;
#[cfg(target_arch = "x86_64")]
pub(super) use deep::weight_gradient as deep_weight_gradient;
#[cfg(target_arch = "x86_64")]
pub(super) use winograd::weight_gradient as winograd_weight_gradient;

/// Positions per channel are rounded up to a whole number of these: every register
/// tile's width divides it (AVX-512: 3 × 16, AVX2: 2 × 8).
const TILE: usize = 96;
/// Floats in a 64-byte cache line. Scratch rows start on one (every channel's stride is
/// a whole number of tiles, so of lines): a vector load of a row then never straddles two
/// lines. The allocator's large blocks start 16 bytes past a line, where every AVX-512
/// load would straddle.
const LINE: usize = 16;
const _: () = assert!(TILE.is_multiple_of(LINE));
/// Bytes a group's padded input and output may take together, roughly: a group stays
/// in the L2 cache (1.25 MiB a core where this was measured) from its copy-in to its
/// copy-out.
const GROUP_BYTES: usize = 512 << 10;

/// What a direct kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// A forward convolution (an input gradient is one too).
    Correlation,
    WeightGradient,
}

impl Pass {
    /// Most channels on either side of a convolution the direct kernels take. Past it
    /// a group of images in L2 holds so few positions that the per-group overheads
    /// (rounding to whole tiles, the weight gradient's per-tile sums) dominate. On the
    /// AVX-512 machine (kernel passes, 2 threads) the correlation of ResNet-18's
    /// 128-channel 20×20 layer took 21.8 ms against im2col + gemm's 23.9, at 256
    /// channels 27.6 against 23.6; its weight gradient already at 128 channels 39.6
    /// against 25.0.
    fn max_channels(self) -> usize {
        match self {
            Self::Correlation => 128,
            Self::WeightGradient => 64,
        }
    }
}

/// The instruction set with which the direct kernels take this pass of this geometry
/// on this machine, if they do.
pub(super) fn applies(g: &ConvGeometry, pass: Pass) -> Option<Simd> {
    let fits = g.stride == [1, 1]
        && g.channels_in <= pass.max_channels()
        && g.channels_out <= pass.max_channels()
        && g.padding[0] < g.kernel[0]
        && g.padding[1] < g.kernel[1];
    fits.then(available).flatten()
}

/// Whether the deep-layer kernel (`deep`: output channels across the lanes) takes this
/// pass: stride 1, whole tiles of output channels, AVX-512, and few positions or many
/// channels. Measured on the AVX-512 machine (kernel passes, 2 threads, batch 64),
/// forward against the position tiles or im2col + gemm: 64 channels at 10×10 1.31
/// against 1.55 ms, 128 at 20×20 20.2 against 20.9, 256 at 10×10 19.5 against 22.8,
/// 512 at 5×5 21.8 against 22.3; but 64 at 40×40 24.6 against 20.7 (there the position
/// tiles lose only 5% to padding). The weight gradient: 1.45 against 1.92, 23.1 against
/// 25.5, 21.8 against 23.3, but 512 at 5×5 24.5 against 23.7: each core's sum of a
/// gradient that large (9 MB) does not stay in the L2 cache.
pub(super) fn applies_deep(g: &ConvGeometry, pass: Pass) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ENABLED: OnceLock<bool> = OnceLock::new();
        let enabled = *ENABLED.get_or_init(|| std::env::var_os(DISABLE_DEEP_VARIABLE).is_none());
        let few_positions = g.out_height() * g.out_width() <= 20 * 20;
        let many_channels = g.channels_in.max(g.channels_out) > Pass::Correlation.max_channels();
        let sum_fits = match pass {
            Pass::Correlation => true,
            Pass::WeightGradient => g.channels_out * g.patch_len() <= MAX_DEEP_GRADIENT,
        };
        enabled
            && g.stride == [1, 1]
            && g.channels_out.is_multiple_of(deep::CHANNELS)
            && (few_positions || many_channels)
            && sum_fits
            && g.padding[0] < g.kernel[0]
            && g.padding[1] < g.kernel[1]
            && available() == Some(Simd::Avx512)
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether Winograd's F(2×2, 3×3) takes this correlation (a forward convolution, an
/// input gradient, or the weight gradient of a forward convolution): 3×3, stride 1,
/// input channels in whole vectors of 16 and output channels in whole blocks of 64,
/// AVX-512.
pub(super) fn applies_winograd(g: &ConvGeometry) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ENABLED: OnceLock<bool> = OnceLock::new();
        let enabled =
            *ENABLED.get_or_init(|| std::env::var_os(DISABLE_WINOGRAD_VARIABLE).is_none());
        enabled
            && g.stride == [1, 1]
            && winograd::fits(&Correlation::forward(g, Simd::Avx512))
            && available() == Some(Simd::Avx512)
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Environment variable that turns Winograd's F(2×2, 3×3) off (those convolutions then
/// take the direct kernels or im2col + gemm), for comparing them.
pub const DISABLE_WINOGRAD_VARIABLE: &str = "FER_NO_WINOGRAD";

/// Most values of a weight gradient the deep-layer kernel sums (ResNet-18's 256-channel
/// layer's 590 K, not its 512-channel one's 2.4 M).
const MAX_DEEP_GRADIENT: usize = 1 << 20;

/// Environment variable that turns the deep-layer kernel off (those convolutions then
/// take the position tiles or im2col + gemm), for comparing them.
pub const DISABLE_DEEP_VARIABLE: &str = "FER_NO_DEEP_CONV";

/// Environment variable that turns the direct kernels off (then every convolution
/// takes im2col + gemm), for comparing the two or working around a fault.
pub const DISABLE_VARIABLE: &str = "FER_NO_DIRECT_CONV";

fn available() -> Option<Simd> {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    let enabled = *ENABLED.get_or_init(|| std::env::var_os(DISABLE_VARIABLE).is_none());
    enabled.then(simd).flatten()
}

/// A stride-1 correlation of `channels_in`-channel images with a `[channels_out,
/// channels_in, kernel]` weight after zero-padding by `padding`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Correlation {
    pub channels_in: usize,
    pub channels_out: usize,
    pub size: [usize; 2],
    pub kernel: [usize; 2],
    pub padding: [usize; 2],
    /// Whose register tiles compute it.
    pub simd: Simd,
}

impl Correlation {
    /// The forward convolution of `g` (stride 1).
    pub fn forward(g: &ConvGeometry, simd: Simd) -> Self {
        Self {
            simd,
            channels_in: g.channels_in,
            channels_out: g.channels_out,
            size: [g.height, g.width],
            kernel: g.kernel,
            padding: g.padding,
        }
    }

    /// Rows per image and positions per row in the padded copy (padding shared with
    /// the neighbours: see the module's comment).
    fn padded(&self) -> [usize; 2] {
        [
            self.size[0] + self.padding[0],
            self.size[1] + self.padding[1],
        ]
    }

    /// Positions per row of the padded copy and of the output domain.
    fn pitch(&self) -> usize {
        self.padded()[1]
    }

    fn out_size(&self) -> [usize; 2] {
        let [height, width] = self.size;
        let [kernel_height, kernel_width] = self.kernel;
        [
            height + 2 * self.padding[0] + 1 - kernel_height,
            width + 2 * self.padding[1] + 1 - kernel_width,
        ]
    }

    fn plane(&self) -> usize {
        let [height, width] = self.padded();
        height * width
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// How many images one group of this pass holds. The weight gradient's groups fill
    /// half the L2 cache where that is more than `GROUP_BYTES`: each of its register
    /// tiles ends in a sum over lanes, so larger groups pay fewer of them (on the 2 MiB
    /// L2 AVX-512 machine, 1 MiB groups ran the 64-channel 10×10 weight gradient 12%
    /// faster; the correlations there ran up to 6% slower with them).
    fn group_images(&self, pass: Pass) -> usize {
        let bytes = match pass {
            Pass::Correlation => GROUP_BYTES,
            Pass::WeightGradient => {
                (crate::kernels::cache::l2_bytes().unwrap_or(0) / 2).max(GROUP_BYTES)
            }
        };
        let bytes_per_position = 4 * (self.channels_in + self.rows());
        (bytes / bytes_per_position / self.plane()).max(1)
    }

    fn in_image_len(&self) -> usize {
        self.channels_in * self.size[0] * self.size[1]
    }

    /// Output channels per register tile of this instruction set.
    fn tile_rows(&self) -> usize {
        match self.simd {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => avx512::MR,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => avx2::MR,
            #[cfg(not(target_arch = "x86_64"))]
            _ => 1,
        }
    }

    /// Output channels rounded up to whole register tiles.
    fn rows(&self) -> usize {
        self.channels_out.div_ceil(self.tile_rows()) * self.tile_rows()
    }

    pub fn out_image_len(&self) -> usize {
        let [height, width] = self.out_size();
        self.channels_out * height * width
    }
}

/// The padded copy of a group of images and where each patch row reads it.
struct Padded<'a> {
    values: &'a [f32],
    /// Positions per channel (a whole number of tiles).
    stride: usize,
    /// Where patch row `k` (input channel, kernel row, kernel column) starts.
    offsets: Vec<usize>,
}

/// Copies `images` (`[image][channel][row][column]`) zero-padded into `buffer` as
/// `[channel][image][padded row][padded column]`.
fn pad_group<'a>(images: &[f32], c: &Correlation, buffer: &'a mut Vec<f32>) -> Padded<'a> {
    let count = images.len() / c.in_image_len().max(1);
    let pitch = c.pitch();
    let [height, width] = c.size;
    let plane = c.plane();
    let stride = (count * plane).div_ceil(TILE) * TILE;
    let reach = (c.kernel[0] - 1) * pitch + c.kernel[1];
    let len = c.channels_in * stride + reach + TILE;
    let buffer = line_aligned(buffer, len);
    // One clear of the whole copy (it sits in L2) costs less than clearing only the
    // padding: that is two short runs per row, each a call to memset.
    buffer.fill(0.0);
    for (image_index, image) in images.chunks_exact(c.in_image_len()).enumerate() {
        for (channel, source) in image.chunks_exact(height * width).enumerate() {
            let start = channel * stride + image_index * plane;
            let target = &mut buffer[start..start + plane];
            for (row, line) in source.chunks_exact(width).enumerate() {
                let at = (row + c.padding[0]) * pitch + c.padding[1];
                target[at..at + width].copy_from_slice(line);
            }
        }
    }
    let mut offsets = Vec::with_capacity(c.channels_in * c.taps());
    for channel in 0..c.channels_in {
        for ky in 0..c.kernel[0] {
            for kx in 0..c.kernel[1] {
                offsets.push(channel * stride + ky * pitch + kx);
            }
        }
    }
    Padded {
        values: buffer,
        stride,
        offsets,
    }
}

/// `len` floats of `buffer`, starting on a cache line, with whatever they held before.
fn line_aligned(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len + LINE {
        buffer.resize(len + LINE, 0.0);
    }
    let skip = buffer.as_ptr().align_offset(LINE * 4).min(LINE);
    &mut buffer[skip..skip + len]
}

/// The weight `[channels_out][patch row]` as `[block of MR output channels][patch
/// row][MR]` (`MR` the tile's rows), zeros past the last channel.
fn pack_weight(weight: &[f32], c: &Correlation) -> Vec<f32> {
    let (mr, patch_len) = (c.tile_rows(), c.channels_in * c.taps());
    let mut packed = vec![0.0; c.rows() * patch_len];
    for (co, row) in weight.chunks_exact(patch_len).enumerate() {
        let (block, lane) = (co / mr, co % mr);
        for (k, &value) in row.iter().enumerate() {
            packed[(block * patch_len + k) * mr + lane] = value;
        }
    }
    packed
}

/// A packed weight ready for [`correlate`], in the layout of the kernel it is for.
pub(super) enum PackedWeight {
    /// The position tiles' (`avx512`, `avx2`).
    Tiles(Vec<f32>),
    /// The deep-layer kernel's.
    #[cfg(target_arch = "x86_64")]
    Deep(Vec<f32>),
    /// Winograd's transformed weight.
    #[cfg(target_arch = "x86_64")]
    Winograd(Vec<f32>),
}

impl PackedWeight {
    pub fn new(weight: &[f32], c: &Correlation) -> Self {
        Self::Tiles(pack_weight(weight, c))
    }

    /// The forward weight packed for the deep-layer kernel.
    #[cfg(target_arch = "x86_64")]
    pub fn deep(weight: &[f32], c: &Correlation) -> Self {
        Self::Deep(deep::pack(weight, c.channels_out))
    }

    /// For the deep-layer kernel, the weight of the input gradient's correlation
    /// (flipped and transposed) of the convolution whose weight is `weight`.
    #[cfg(target_arch = "x86_64")]
    pub fn deep_flipped_transposed(weight: &[f32], g: &ConvGeometry) -> Self {
        Self::Deep(deep::pack_flipped_transposed(
            weight,
            g.channels_out,
            g.channels_in,
        ))
    }

    /// The forward 3×3 weight (`[channels_out][channels_in][3][3]`) transformed for
    /// Winograd's F(2×2, 3×3).
    #[cfg(target_arch = "x86_64")]
    pub fn winograd(weight: &[f32], c: &Correlation) -> Self {
        let ci = c.channels_in;
        Self::Winograd(winograd::pack(c.channels_out, ci, |o, i| {
            kernel_at(weight, o * ci + i)
        }))
    }

    /// For Winograd's F(2×2, 3×3), the weight of the input gradient's correlation
    /// (flipped and transposed) of the convolution whose 3×3 weight is `weight`.
    #[cfg(target_arch = "x86_64")]
    pub fn winograd_flipped_transposed(weight: &[f32], g: &ConvGeometry) -> Self {
        let ci = g.channels_in;
        Self::Winograd(winograd::pack(ci, g.channels_out, |o, i| {
            let mut flipped = kernel_at(weight, i * ci + o);
            flipped.reverse();
            flipped
        }))
    }
}

/// The `index`-th 3×3 kernel of `weight`.
#[cfg(target_arch = "x86_64")]
fn kernel_at(weight: &[f32], index: usize) -> [f32; 9] {
    let mut kernel = [0.0; 9];
    kernel.copy_from_slice(&weight[index * 9..][..9]);
    kernel
}

std::thread_local! {
    static PADDED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    static DOMAIN: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Correlates `images` (whole `[channel][row][column]` images back to back) into
/// `out` (the same number of output images), group by group.
pub(super) fn correlate(
    images: &[f32],
    weight: &PackedWeight,
    c: &Correlation,
    out: &mut [MaybeUninit<f32>],
) {
    let values = match weight {
        PackedWeight::Tiles(values) => values,
        #[cfg(target_arch = "x86_64")]
        PackedWeight::Deep(values) => return deep::correlate(images, values, c, out),
        #[cfg(target_arch = "x86_64")]
        PackedWeight::Winograd(values) => return winograd::correlate(images, values, c, out),
    };
    let group = c.group_images(Pass::Correlation);
    let in_chunks = images.chunks(group * c.in_image_len());
    for (source, target) in in_chunks.zip(out.chunks_mut(group * c.out_image_len())) {
        PADDED.with_borrow_mut(|padded| {
            DOMAIN.with_borrow_mut(|domain| {
                correlate_group(source, values, c, padded, domain, target)
            })
        });
    }
}

fn correlate_group(
    images: &[f32],
    weight: &[f32],
    c: &Correlation,
    padded: &mut Vec<f32>,
    domain: &mut Vec<f32>,
    out: &mut [MaybeUninit<f32>],
) {
    let padded = pad_group(images, c, padded);
    let rows = c.rows();
    // Every position of every row is written by the kernel: no clearing.
    let domain = line_aligned(domain, rows * padded.stride);
    #[cfg(target_arch = "x86_64")]
    match c.simd {
        Simd::Avx512 => avx512::correlate(&padded, weight, domain, rows),
        Simd::Avx2 => avx2::correlate(&padded, weight, domain, rows),
    }
    unpad(domain, padded.stride, c, out);
}

/// Copies the valid positions of `domain` (`[channel][position]`) to `out`
/// (`[image][channel][row][column]`).
fn unpad(domain: &[f32], stride: usize, c: &Correlation, out: &mut [MaybeUninit<f32>]) {
    let [height, width] = c.out_size();
    let pitch = c.pitch();
    let plane = c.plane();
    for (image_index, image) in out.chunks_exact_mut(c.out_image_len()).enumerate() {
        for (channel, target) in image.chunks_exact_mut(height * width).enumerate() {
            let source = &domain[channel * stride + image_index * plane..];
            for (row, line) in target.chunks_exact_mut(width).enumerate() {
                for (target, &value) in line.iter_mut().zip(&source[row * pitch..][..width]) {
                    target.write(value);
                }
            }
        }
    }
}

/// Copies `grad` (`[image][channel][row][column]`, the output gradient) into
/// `domain` (`[channel][position]`, zeros in the padding positions).
fn spread<'a>(
    grad: &[f32],
    c: &Correlation,
    stride: usize,
    rows: usize,
    domain: &'a mut Vec<f32>,
) -> &'a [f32] {
    let [height, width] = c.out_size();
    let pitch = c.pitch();
    let plane = c.plane();
    let domain = line_aligned(domain, rows * stride);
    domain.fill(0.0);
    for (image_index, image) in grad.chunks_exact(c.out_image_len()).enumerate() {
        for (channel, source) in image.chunks_exact(height * width).enumerate() {
            let target = &mut domain[channel * stride + image_index * plane..];
            for (row, line) in source.chunks_exact(width).enumerate() {
                target[row * pitch..][..width].copy_from_slice(line);
            }
        }
    }
    domain
}

/// Adds to `sum` (`[channels_out][patch row]`) the weight gradient of `images` and
/// their output gradient `grad`, group by group.
pub(super) fn add_weight_gradient(images: &[f32], grad: &[f32], c: &Correlation, sum: &mut [f32]) {
    let group = c.group_images(Pass::WeightGradient);
    let in_chunks = images.chunks(group * c.in_image_len());
    for (source, grad) in in_chunks.zip(grad.chunks(group * c.out_image_len())) {
        PADDED.with_borrow_mut(|padded| {
            DOMAIN.with_borrow_mut(|domain| {
                let padded = pad_group(source, c, padded);
                let rows = c.rows();
                let domain = spread(grad, c, padded.stride, rows, domain);
                #[cfg(target_arch = "x86_64")]
                match c.simd {
                    Simd::Avx512 => avx512::weight_gradient(&padded, domain, c.channels_out, sum),
                    Simd::Avx2 => avx2::weight_gradient(&padded, domain, c.channels_out, sum),
                }
            })
        });
    }
}
