//! 3×3 stride-1 correlations as Winograd's F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms
//! for Convolutional Neural Networks", 2016): each 2×2 block of outputs ("tile") comes
//! from a 4×4 window of the input through 16 products instead of 36, so a layer takes
//! 4/9 of the multiply-adds of the direct kernels (at 5×5, where 3×3 tiles hold 25 of
//! 36 outputs, 0.64).
//!
//! Three steps per band of tiles (whole images, or rows of tiles of one large image,
//! sized so that the band's transforms stay in the L2 cache): the input windows to
//! `V = Bᵀ d B` (16 points per tile), one product per point `M[p] = U[p] · V[p]` over
//! the input channels (`U = G g Gᵀ`, the transformed weight, made once a pass), and
//! `Y = Aᵀ M A` back to 2×2 outputs. The products run on the deep-layer kernel's
//! register tile (64 output channels × 6 tiles); the transforms are vectors of 16
//! channels, which is why the input takes whole vectors of channels and the output
//! whole tiles of 64.
//!
//! The transforms' coefficients are 0, ±1 and ±½: the results differ from the direct
//! sums by rounding only, and the tests hold them to the direct kernels' tolerance.

use std::arch::x86_64::{__m512, _mm512_add_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_sub_ps};
use std::mem::MaybeUninit;
use std::ops::Range;

use super::deep::{tile_avx512, CHANNELS, POSITIONS};
use super::Correlation;
use crate::kernels::parallel::for_each_row_chunk;

mod transpose;
mod weight_gradient;

use transpose::{transpose, Strided};
pub(in crate::kernels::conv) use weight_gradient::weight_gradient;

/// Points of a tile's transform (4 × 4).
const POINTS: usize = 16;
const LANES: usize = 16;
/// Bytes of transformed input and products a band may take: they stay in the L2
/// cache from the input transform to the output transform.
const BAND_BYTES: usize = 1 << 20;

std::thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Whether F(2×2, 3×3) computes a correlation of this shape: a 3×3 kernel, input
/// channels in whole vectors and output channels in whole register tiles.
pub(super) fn fits(c: &Correlation) -> bool {
    c.kernel == [3, 3]
        && c.padding[0] < 3
        && c.padding[1] < 3
        && c.channels_in.is_multiple_of(LANES)
        && c.channels_out.is_multiple_of(CHANNELS)
        && c.channels_in > 0
        && c.channels_out > 0
}

/// `U = G g Gᵀ` of every kernel `g = kernel(output channel, input channel)` (3×3, row
/// by row), as `[block of 64 output channels][point][input channel][64]`: what a
/// register tile reads each step of the product over input channels is one run of 64.
/// The blocks are split over the cores.
pub(super) fn pack(
    channels_out: usize,
    channels_in: usize,
    kernel: impl Fn(usize, usize) -> [f32; 9] + Sync,
) -> Vec<f32> {
    let point_len = channels_in * CHANNELS;
    let mut packed = vec![0.0; channels_out * channels_in * POINTS];
    for_each_row_chunk(&mut packed, POINTS * point_len, |first_block, blocks| {
        for (index, block) in blocks.chunks_exact_mut(POINTS * point_len).enumerate() {
            let first_output = (first_block + index) * CHANNELS;
            for ci in 0..channels_in {
                let kernels: [[f32; 9]; CHANNELS] =
                    std::array::from_fn(|lane| kernel(first_output + lane, ci));
                for (point, u) in transform_kernels(&kernels).iter().enumerate() {
                    block[point * point_len + ci * CHANNELS..][..CHANNELS].copy_from_slice(u);
                }
            }
        }
    });
    packed
}

/// `G g Gᵀ` of 64 3×3 kernels, as `[point][kernel]`: rows of 64 a tile reads in one
/// step.
fn transform_kernels(kernels: &[[f32; 9]; CHANNELS]) -> [[f32; CHANNELS]; POINTS] {
    let mut u = [[0.0f32; CHANNELS]; POINTS];
    for (lane, kernel) in kernels.iter().enumerate() {
        for (point, value) in transform_kernel(kernel).into_iter().enumerate() {
            u[point][lane] = value;
        }
    }
    u
}

/// `G g Gᵀ` of one 3×3 kernel, row by row.
fn transform_kernel(g: &[f32; 9]) -> [f32; POINTS] {
    let half = |a: f32, b: f32, c: f32| 0.5 * (a + b + c);
    let column = |k: usize| {
        let (g0, g1, g2) = (g[k], g[3 + k], g[6 + k]);
        [g0, half(g0, g1, g2), half(g0, -g1, g2), g2]
    };
    let columns = [column(0), column(1), column(2)];
    let mut u = [0.0; POINTS];
    for row in 0..4 {
        let (a, b, c) = (columns[0][row], columns[1][row], columns[2][row]);
        u[row * 4..row * 4 + 4].copy_from_slice(&[a, half(a, b, c), half(a, -b, c), c]);
    }
    u
}

/// Tiles of one image: rows and columns of 2×2 output blocks.
fn tiles(c: &Correlation) -> [usize; 2] {
    let [height, width] = c.out_size();
    [height.div_ceil(2), width.div_ceil(2)]
}

/// Correlates `images` into `out` band by band; `weight` from [`pack`].
pub(super) fn correlate(
    images: &[f32],
    weight: &[f32],
    c: &Correlation,
    out: &mut [MaybeUninit<f32>],
) {
    let count = images.len() / c.in_image_len().max(1);
    assert_eq!(
        out.len(),
        count * c.out_image_len(),
        "one output a position"
    );
    for band in bands(c, count, weight.len()) {
        BUFFERS.with_borrow_mut(|buffers| correlate_band(images, weight, c, &band, buffers, out));
    }
}

/// Tiles transformed and multiplied together: whole images, or rows of tiles of one
/// image where an image's transforms would not fit the L2 cache.
struct Band {
    images: Range<usize>,
    tile_rows: Range<usize>,
}

impl Band {
    fn tile_count(&self, columns: usize) -> usize {
        self.images.len() * self.tile_rows.len() * columns
    }

    /// Index in the band of the tile at `tile_row`, `column` of its `index`-th image.
    fn tile(&self, index: usize, tile_row: usize, column: usize, columns: usize) -> usize {
        (index * self.tile_rows.len() + tile_row - self.tile_rows.start) * columns + column
    }
}

/// Bands of `count` images whose transformed input and products take about
/// `BAND_BYTES`, or half the transformed weight where that is more (ResNet-18's
/// 512-channel weight takes 16 MB: fewer, larger bands read it fewer times).
fn bands(c: &Correlation, count: usize, weight_len: usize) -> Vec<Band> {
    let [rows, columns] = tiles(c);
    let bytes_per_row = 4 * POINTS * columns * (c.channels_in + c.channels_out);
    let band_rows = (BAND_BYTES.max(4 * weight_len / 2) / bytes_per_row.max(1)).max(1);
    if band_rows >= rows {
        let images = band_rows / rows.max(1);
        (0..count)
            .step_by(images)
            .map(|first| Band {
                images: first..(first + images).min(count),
                tile_rows: 0..rows,
            })
            .collect()
    } else {
        (0..count)
            .flat_map(|image| {
                (0..rows).step_by(band_rows).map(move |first| Band {
                    images: image..image + 1,
                    tile_rows: first..(first + band_rows).min(rows),
                })
            })
            .collect()
    }
}

/// Scratch space of one band, reused from band to band.
#[derive(Default)]
struct Buffers {
    /// One image zero-padded, channels last (kept over the bands of one image).
    windows: Vec<f32>,
    /// `V`: `[point][tile][input channel]`.
    transformed: Vec<f32>,
    /// `M`: `[point][tile][output channel]`.
    products: Vec<f32>,
}

fn correlate_band(
    images: &[f32],
    weight: &[f32],
    c: &Correlation,
    band: &Band,
    buffers: &mut Buffers,
    out: &mut [MaybeUninit<f32>],
) {
    let columns = tiles(c)[1];
    let tile_count = band.tile_count(columns);
    buffers
        .transformed
        .resize(POINTS * tile_count * c.channels_in, 0.0);
    buffers
        .products
        .resize(POINTS * tile_count * c.channels_out, 0.0);
    for (index, image) in band.images.clone().enumerate() {
        if band.tile_rows.start == 0 {
            let source = &images[image * c.in_image_len()..][..c.in_image_len()];
            pad_channels_last(source, c, &mut buffers.windows);
        }
        // SAFETY: `windows` holds the padded image (`pad_channels_last`), `transformed`
        // the band's `tile_count` tiles of every point; AVX-512 (`fits`' callers).
        unsafe { transform_input(&buffers.windows, c, &mut buffers.transformed, band, index) };
    }
    multiply(
        weight,
        c,
        &buffers.transformed,
        &mut buffers.products,
        tile_count,
    );
    // SAFETY: `products` holds every point of the band's tiles, `out` every output of
    // the images; AVX-512.
    unsafe { transform_output(&buffers.products, c, band, out) };
}

/// Rows and columns of a padded image: every tile's 4×4 window lies inside.
fn window_size(c: &Correlation) -> [usize; 2] {
    let [rows, columns] = tiles(c);
    [2 * rows + 2, 2 * columns + 2]
}

/// `image` (`[channel][row][column]`) zero-padded into `windows` as `[row][column]
/// [channel]`.
fn pad_channels_last(image: &[f32], c: &Correlation, windows: &mut Vec<f32>) {
    let layout = ChannelsLast {
        channels: c.channels_in,
        size: c.size,
        offset: c.padding,
        window: window_size(c),
    };
    layout.copy(image, windows);
}

/// Where `[channel][row][column]` images go in a zero-filled `[row][column][channel]`
/// window.
struct ChannelsLast {
    channels: usize,
    size: [usize; 2],
    /// Rows and columns of zeros before the image's first.
    offset: [usize; 2],
    /// Rows and columns of the window.
    window: [usize; 2],
}

impl ChannelsLast {
    fn copy(&self, image: &[f32], window: &mut Vec<f32>) {
        let [height, width] = self.size;
        let channels = self.channels;
        assert_eq!(image.len(), channels * height * width, "one image");
        assert!(
            height + self.offset[0] <= self.window[0] && width + self.offset[1] <= self.window[1],
            "the image inside its window"
        );
        window.clear();
        window.resize(self.window[0] * self.window[1] * channels, 0.0);
        let (at, columns) = (window.as_mut_ptr(), self.window[1]);
        let source = Strided {
            at: image.as_ptr(),
            stride: height * width,
        };
        let position = |p: usize| {
            let (y, x) = (p / width + self.offset[0], p % width + self.offset[1]);
            // SAFETY: inside the window (asserted above).
            unsafe { at.add((y * columns + x) * channels) }
        };
        // SAFETY: `source` holds `channels` planes of `height × width`, each position
        // `channels` values in the window; AVX-512 (`fits`' callers).
        unsafe { transpose(source, (channels, height * width), position) };
    }
}

/// `V = Bᵀ d B` of every 4×4 window `d` of the band's rows of its `index`-th image
/// (padded in `windows`), 16 channels at a time, into `transformed`.
#[target_feature(enable = "avx512f")]
unsafe fn transform_input(
    windows: &[f32],
    c: &Correlation,
    transformed: &mut [f32],
    band: &Band,
    index: usize,
) {
    let layout = Windows {
        channels: c.channels_in,
        columns: window_size(c)[1],
        tiles_per_row: tiles(c)[1],
    };
    transform_windows::<4>(windows, &layout, (transformed, band, index), |d| {
        input_transform_1d(d)
    });
}

/// Where a channels-last window buffer holds the tiles' windows, 2 apart.
struct Windows {
    channels: usize,
    columns: usize,
    tiles_per_row: usize,
}

/// `T d Tᵀ` of every `N`×`N` window `d` of the band's rows of its `index`-th image
/// into `transformed` (`[point][tile][channel]`, 16 points), `T` being `transform`
/// along one axis; 16 channels at a time.
#[target_feature(enable = "avx512f")]
unsafe fn transform_windows<const N: usize>(
    windows: &[f32],
    layout: &Windows,
    (transformed, band, index): (&mut [f32], &Band, usize),
    transform: impl Fn([__m512; N]) -> [__m512; 4],
) {
    let (channels, columns) = (layout.channels, layout.tiles_per_row);
    let tile_count = band.tile_count(columns);
    let source = windows.as_ptr();
    let target = transformed.as_mut_ptr();
    for ty in band.tile_rows.clone() {
        for tx in 0..columns {
            let tile = band.tile(index, ty, tx, columns);
            let corner = (2 * ty * layout.columns + 2 * tx) * channels;
            for channel in (0..channels).step_by(LANES) {
                let d: [[__m512; N]; N] = std::array::from_fn(|r| {
                    std::array::from_fn(|s| {
                        let at = corner + (r * layout.columns + s) * channels + channel;
                        _mm512_loadu_ps(source.add(at))
                    })
                });
                let rows_done = d.map(&transform);
                let columns: [[__m512; 4]; 4] =
                    std::array::from_fn(|j| transform(std::array::from_fn(|i| rows_done[i][j])));
                for (j, column) in columns.into_iter().enumerate() {
                    for (i, value) in column.into_iter().enumerate() {
                        let at = ((i * 4 + j) * tile_count + tile) * channels + channel;
                        _mm512_storeu_ps(target.add(at), value);
                    }
                }
            }
        }
    }
}

/// `Bᵀ d` of four values along one axis.
#[inline]
#[target_feature(enable = "avx512f")]
fn input_transform_1d([d0, d1, d2, d3]: [__m512; 4]) -> [__m512; 4] {
    [
        _mm512_sub_ps(d0, d2),
        _mm512_add_ps(d1, d2),
        _mm512_sub_ps(d2, d1),
        _mm512_sub_ps(d1, d3),
    ]
}

/// `M[p] = U[p] · V[p]` for every point: register tiles of 64 output channels × 6
/// tiles, the whole sum over input channels in registers.
fn multiply(
    weight: &[f32],
    c: &Correlation,
    transformed: &[f32],
    products: &mut [f32],
    tile_count: usize,
) {
    let (channels_in, channels_out) = (c.channels_in, c.channels_out);
    let steps: Vec<usize> = (0..channels_in).collect();
    let blocks = channels_out / CHANNELS;
    let tile_starts: Vec<usize> = (0..tile_count).map(|t| t * channels_in).collect();
    for point in 0..POINTS {
        let input = &transformed[point * tile_count * channels_in..][..tile_count * channels_in];
        let output =
            &mut products[point * tile_count * channels_out..][..tile_count * channels_out];
        for block in 0..blocks {
            let rows = &weight[(block * POINTS + point) * channels_in * CHANNELS..]
                [..channels_in * CHANNELS];
            for (index, group) in tile_starts.chunks(POSITIONS).enumerate() {
                let mut columns = [group[group.len() - 1]; POSITIONS];
                columns[..group.len()].copy_from_slice(group);
                let at = index * POSITIONS * channels_out + block * CHANNELS;
                // SAFETY: `rows` holds `channels_in` rows of 64; each column plus each
                // step lies in `input` (a tile's channels); `output` holds
                // `group.len()` rows of `channels_out` from `at`. AVX-512 as above.
                unsafe {
                    tile_avx512(
                        (rows.as_ptr(), CHANNELS),
                        &steps,
                        input.as_ptr(),
                        &columns,
                        (output[at..].as_mut_ptr(), channels_out, group.len()),
                        false,
                    );
                }
            }
        }
    }
}

/// `Y = Aᵀ M A` of every tile of the band into `out` (`[image][channel][row][column]`),
/// dropping the row and column past an odd output size. A row of tiles goes to two
/// rows of positions, channels last, then transposed into the channels' planes.
#[target_feature(enable = "avx512f")]
unsafe fn transform_output(
    products: &[f32],
    c: &Correlation,
    band: &Band,
    out: &mut [MaybeUninit<f32>],
) {
    let columns = tiles(c)[1];
    let [height, width] = c.out_size();
    let channels = c.channels_out;
    let tile_count = band.tile_count(columns);
    let source = products.as_ptr();
    // The band's rows of one image, channels last, then transposed to its planes.
    let band_rows = (2 * band.tile_rows.end).min(height) - 2 * band.tile_rows.start;
    let mut positions = vec![0.0f32; band_rows * width * channels];
    let scratch = positions.as_mut_ptr();
    for (index, image) in band.images.clone().enumerate() {
        for ty in band.tile_rows.clone() {
            for tx in 0..columns {
                let tile = band.tile(index, ty, tx, columns);
                for channel in (0..channels).step_by(LANES) {
                    let m: [__m512; POINTS] = std::array::from_fn(|point| {
                        _mm512_loadu_ps(
                            source.add((point * tile_count + tile) * channels + channel),
                        )
                    });
                    let rows_done: [[__m512; 2]; 4] = std::array::from_fn(|i| {
                        output_transform_1d([m[i * 4], m[i * 4 + 1], m[i * 4 + 2], m[i * 4 + 3]])
                    });
                    let columns_done: [[__m512; 2]; 2] = std::array::from_fn(|b| {
                        output_transform_1d(std::array::from_fn(|i| rows_done[i][b]))
                    });
                    for (b, column) in columns_done.into_iter().enumerate() {
                        for (a, value) in column.into_iter().enumerate() {
                            let (y, x) = (2 * ty + a, 2 * tx + b);
                            if y < height && x < width {
                                let row = y - 2 * band.tile_rows.start;
                                let at = (row * width + x) * channels + channel;
                                _mm512_storeu_ps(scratch.add(at), value);
                            }
                        }
                    }
                }
            }
        }
        let first = (image * channels * height + 2 * band.tile_rows.start) * width;
        let target = out[first..].as_mut_ptr().cast::<f32>();
        let source = Strided {
            at: positions.as_ptr(),
            stride: channels,
        };
        transpose(source, (band_rows * width, channels), |channel| {
            target.add(channel * height * width)
        });
    }
}

/// `Aᵀ m` of four values along one axis.
#[inline]
#[target_feature(enable = "avx512f")]
fn output_transform_1d([m0, m1, m2, m3]: [__m512; 4]) -> [__m512; 2] {
    [
        _mm512_add_ps(_mm512_add_ps(m0, m1), m2),
        _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3),
    ]
}
