//! im2col and its adjoint: the patch matrix `[channels_in x kh x kw, out pixels]` of
//! an image, and its gradient added back onto the image.

use std::ops::Range;

use super::ConvGeometry;

/// Output positions `o` whose input coordinate `o * stride + offset - padding` lies in
/// `0..size`.
pub(super) fn valid_outputs(
    out_size: usize,
    size: usize,
    stride: usize,
    offset: usize,
    padding: usize,
) -> Range<usize> {
    let first = padding.saturating_sub(offset).div_ceil(stride);
    let last = (size + padding)
        .checked_sub(offset + 1)
        .map_or(0, |max| max / stride + 1);
    first.min(out_size)..last.min(out_size).max(first.min(out_size))
}

/// Where one row of a patch matrix reads the image: input row `in_row`, output
/// columns `columns` (the others read padding), the first of them at input column
/// `first_column`, the next ones a stride apart.
struct RowSource {
    in_row: usize,
    columns: Range<usize>,
    first_column: usize,
}

/// Where one image's columns lie in a patch matrix that may hold several images side
/// by side: rows `stride` values apart, this image's columns from `offset`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Columns {
    pub stride: usize,
    pub offset: usize,
}

impl Columns {
    /// Image `index` of a group of `count` images.
    pub fn in_group(g: &ConvGeometry, index: usize, count: usize) -> Self {
        Self {
            stride: count * g.out_pixels(),
            offset: index * g.out_pixels(),
        }
    }
}

/// Calls `visit(start, source)` for every output row of every patch row: `start` is
/// where that row begins in the matrix, `source` says what it reads (`None`: padding
/// only).
fn for_each_patch_line(
    g: &ConvGeometry,
    place: Columns,
    mut visit: impl FnMut(usize, Option<RowSource>),
) {
    let (out_height, out_width) = (g.out_height(), g.out_width());
    let [kernel_rows, kernel_cols] = g.kernel;
    for channel in 0..g.channels_in {
        for ky in 0..kernel_rows {
            let rows = valid_outputs(out_height, g.height, g.stride[0], ky, g.padding[0]);
            for kx in 0..kernel_cols {
                let patch_row = (channel * kernel_rows + ky) * kernel_cols + kx;
                let columns = valid_outputs(out_width, g.width, g.stride[1], kx, g.padding[1]);
                let first_column = (columns.start * g.stride[1] + kx).saturating_sub(g.padding[1]);
                for oy in 0..out_height {
                    let start = patch_row * place.stride + place.offset + oy * out_width;
                    let source = (rows.contains(&oy) && !columns.is_empty()).then(|| RowSource {
                        in_row: channel * g.height + oy * g.stride[0] + ky - g.padding[0],
                        columns: columns.clone(),
                        first_column,
                    });
                    visit(start, source);
                }
            }
        }
    }
}

/// The patch matrix `[patch_len, out_pixels]` of one image, at `columns` of `patches`
/// (every element of them written, so a reused buffer needs no clearing).
pub(super) fn image_to_patches(
    image: &[f32],
    g: &ConvGeometry,
    patches: &mut [f32],
    columns: Columns,
) {
    let (out_width, stride) = (g.out_width(), g.stride[1]);
    for_each_patch_line(g, columns, |start, source| {
        let line = &mut patches[start..start + out_width];
        let Some(source) = source else {
            line.fill(0.0);
            return;
        };
        line[..source.columns.start].fill(0.0);
        line[source.columns.end..].fill(0.0);
        let target = &mut line[source.columns.clone()];
        let first_column = source.first_column;
        let image_row = &image[source.in_row * g.width..(source.in_row + 1) * g.width];
        if stride == 1 {
            target.copy_from_slice(&image_row[first_column..first_column + target.len()]);
        } else {
            let pixels = image_row[first_column..].iter().step_by(stride);
            target
                .iter_mut()
                .zip(pixels)
                .for_each(|(value, &pixel)| *value = pixel);
        }
    });
}

/// Adds a patch-matrix gradient (the image's `columns` of `patches`) onto the image it
/// was read from (`image` starts at zero).
pub(super) fn patches_to_image(
    patches: &[f32],
    g: &ConvGeometry,
    columns: Columns,
    image: &mut [f32],
) {
    let stride = g.stride[1];
    for_each_patch_line(g, columns, |start, source| {
        let Some(source) = source else {
            return;
        };
        let line = &patches[start + source.columns.start..start + source.columns.end];
        let first_column = source.first_column;
        let image_row = &mut image[source.in_row * g.width..(source.in_row + 1) * g.width];
        if stride == 1 {
            // Two plain slices of equal length: the loop vectorises.
            let target = &mut image_row[first_column..first_column + line.len()];
            target
                .iter_mut()
                .zip(line)
                .for_each(|(pixel, &value)| *pixel += value);
        } else {
            let pixels = image_row[first_column..].iter_mut().step_by(stride);
            line.iter()
                .zip(pixels)
                .for_each(|(&value, pixel)| *pixel += value);
        }
    });
}
