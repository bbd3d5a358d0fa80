//! Tensor shapes and the output-size arithmetic shared by the int8 engine and the f32 reference.

use crate::format::{ConvGeom, PoolGeom};

/// A tensor of `h × w × c` values stored in HWC order (channel fastest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.h * self.w * self.c
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Output shape of a convolution, `None` when the kernel does not fit.
pub fn conv_out(input: Shape, out_c: usize, g: ConvGeom) -> Option<Shape> {
    if g.kh == 0 || g.kw == 0 || g.stride_h == 0 || g.stride_w == 0 || out_c == 0 {
        return None;
    }
    let ph = input.h + 2 * usize::from(g.pad_h);
    let pw = input.w + 2 * usize::from(g.pad_w);
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    if ph < kh || pw < kw {
        return None;
    }
    Some(Shape {
        h: (ph - kh) / usize::from(g.stride_h) + 1,
        w: (pw - kw) / usize::from(g.stride_w) + 1,
        c: out_c,
    })
}

/// Output shape of a pooling layer, `None` when the window does not fit.
pub fn pool_out(input: Shape, g: PoolGeom) -> Option<Shape> {
    if g.kh == 0 || g.kw == 0 || g.stride_h == 0 || g.stride_w == 0 {
        return None;
    }
    let (kh, kw) = (usize::from(g.kh), usize::from(g.kw));
    if input.h < kh || input.w < kw {
        return None;
    }
    Some(Shape {
        h: (input.h - kh) / usize::from(g.stride_h) + 1,
        w: (input.w - kw) / usize::from(g.stride_w) + 1,
        c: input.c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_keeps_the_size_and_stride_halves_it() {
        let input = Shape { h: 24, w: 32, c: 1 };
        let g = ConvGeom::square(3, 1, 1);
        assert_eq!(conv_out(input, 8, g), Some(Shape { h: 24, w: 32, c: 8 }));
        let g2 = ConvGeom {
            stride_h: 2,
            stride_w: 2,
            ..g
        };
        assert_eq!(conv_out(input, 8, g2), Some(Shape { h: 12, w: 16, c: 8 }));
        let p = PoolGeom::square(2, 2);
        assert_eq!(pool_out(input, p), Some(Shape { h: 12, w: 16, c: 1 }));
        assert_eq!(pool_out(Shape { h: 1, w: 5, c: 1 }, p), None);
    }
}
