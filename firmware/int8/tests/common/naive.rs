//! An independent, deliberately naive integer implementation of the engine (i64 sums,
//! nested `Vec` planes in CHW order), the reference every engine path is tested against.

use vigil_int8::encode::{QLayer, QuantModel};
use vigil_int8::fixed::multiply_by_quantized_multiplier;
use vigil_int8::{InputKind, QuantMultiplier};

/// Plain nested-Vec tensor `[c][y][x]` (a different layout from the engine's HWC on purpose).
type Planes = Vec<Vec<Vec<i64>>>;

fn rq(acc: i64, q: QuantMultiplier, zp: i8, relu: bool) -> i64 {
    let v = i64::from(multiply_by_quantized_multiplier(
        acc as i32,
        q.multiplier,
        q.shift,
    )) + i64::from(zp);
    v.clamp(if relu { i64::from(zp) } else { -128 }, 127)
}

fn round_div(n: i64, d: i64) -> i64 {
    if n >= 0 {
        (n + d / 2) / d
    } else {
        (n - d / 2) / d
    }
}

pub fn naive(m: &QuantModel, frame: &[i16]) -> Vec<i64> {
    let (h, w) = (usize::from(m.input_h), usize::from(m.input_w));
    let sum: i64 = frame.iter().map(|&v| i64::from(v)).sum();
    let mean = round_div(sum, (h * w) as i64);
    let mut x: Planes = m
        .inputs
        .iter()
        .map(|spec| {
            (0..h)
                .map(|y| {
                    (0..w)
                        .map(|xx| {
                            let mut v = i64::from(frame[y * w + xx]) - i64::from(spec.offset_centi);
                            if spec.kind == InputKind::MinusMean {
                                v -= mean;
                            }
                            let q = multiply_by_quantized_multiplier(
                                v as i32,
                                spec.requant.multiplier,
                                spec.requant.shift,
                            );
                            (i64::from(q) + i64::from(m.input_zero_point)).clamp(-128, 127)
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut zp = i64::from(m.input_zero_point);
    for layer in &m.layers {
        let (c_in, h_in, w_in) = (x.len(), x[0].len(), x[0][0].len());
        x = match layer {
            QLayer::Conv2d(g, a) | QLayer::DepthwiseConv2d(g, a) => {
                let depthwise = matches!(layer, QLayer::DepthwiseConv2d(..));
                let wv = a.weights.values();
                let (kh, kw, ph, pw) = (g.kh as i64, g.kw as i64, g.pad_h as i64, g.pad_w as i64);
                let oh = (h_in as i64 + 2 * ph - kh) / g.stride_h as i64 + 1;
                let ow = (w_in as i64 + 2 * pw - kw) / g.stride_w as i64 + 1;
                let mut out = vec![vec![vec![0i64; ow as usize]; oh as usize]; a.out_c as usize];
                for (oc, plane) in out.iter_mut().enumerate() {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = i64::from(a.bias[oc]);
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = oy * g.stride_h as i64 + ky - ph;
                                    let ix = ox * g.stride_w as i64 + kx - pw;
                                    if iy < 0 || ix < 0 || iy >= h_in as i64 || ix >= w_in as i64 {
                                        continue;
                                    }
                                    let chans: Vec<usize> = if depthwise {
                                        vec![oc]
                                    } else {
                                        (0..c_in).collect()
                                    };
                                    for c in chans {
                                        let widx = if depthwise {
                                            ((ky * kw + kx) as usize) * a.out_c as usize + oc
                                        } else {
                                            ((oc * kh as usize + ky as usize) * kw as usize
                                                + kx as usize)
                                                * c_in
                                                + c
                                        };
                                        acc += i64::from(wv[widx])
                                            * (x[c][iy as usize][ix as usize] - zp);
                                    }
                                }
                            }
                            let q = a.requant[if a.requant.len() == 1 { 0 } else { oc }];
                            plane[oy as usize][ox as usize] = rq(acc, q, a.out_zero_point, a.relu);
                        }
                    }
                }
                zp = i64::from(a.out_zero_point);
                out
            }
            QLayer::MaxPool(g) | QLayer::AvgPool(g) => {
                let avg = matches!(layer, QLayer::AvgPool(_));
                let oh = (h_in - g.kh as usize) / g.stride_h as usize + 1;
                let ow = (w_in - g.kw as usize) / g.stride_w as usize + 1;
                (0..c_in)
                    .map(|c| {
                        (0..oh)
                            .map(|oy| {
                                (0..ow)
                                    .map(|ox| {
                                        let mut vals = vec![];
                                        for ky in 0..g.kh as usize {
                                            for kx in 0..g.kw as usize {
                                                vals.push(
                                                    x[c][oy * g.stride_h as usize + ky]
                                                        [ox * g.stride_w as usize + kx],
                                                );
                                            }
                                        }
                                        if avg {
                                            let n = vals.len() as i64;
                                            round_div(vals.iter().map(|v| v - zp).sum(), n) + zp
                                        } else {
                                            vals.into_iter().max().unwrap_or(-128)
                                        }
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            }
            QLayer::GlobalAvgPool => (0..c_in)
                .map(|c| {
                    let s: i64 = x[c].iter().flatten().map(|v| v - zp).sum();
                    vec![vec![round_div(s, (h_in * w_in) as i64) + zp]]
                })
                .collect(),
            QLayer::Dense(a) => {
                // Flatten in HWC order.
                let mut flat = vec![];
                for y in 0..h_in {
                    for xx in 0..w_in {
                        for plane in x.iter() {
                            flat.push(plane[y][xx]);
                        }
                    }
                }
                let wv = a.weights.values();
                let out = (0..a.out_c as usize)
                    .map(|o| {
                        let acc: i64 = i64::from(a.bias[o])
                            + flat
                                .iter()
                                .enumerate()
                                .map(|(i, v)| i64::from(wv[o * flat.len() + i]) * (v - zp))
                                .sum::<i64>();
                        let q = a.requant[if a.requant.len() == 1 { 0 } else { o }];
                        vec![vec![rq(acc, q, a.out_zero_point, a.relu)]]
                    })
                    .collect();
                zp = i64::from(a.out_zero_point);
                out
            }
        };
    }
    x.iter().map(|p| p[0][0]).collect()
}
