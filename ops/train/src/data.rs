//! Frames as network inputs: channels derived exactly as vigil's f32 reference derives them,
//! stored CHW for burn; the seeded train/validation split and mini-batches.

use burn::tensor::{Device, Tensor, TensorData};
use vigil_int8::reference::{F32Input, F32Model};
use vigil_scenes::Rng;
use vigil_wire::ThermalClass;

use crate::arch::{CLASSES, H, W};
use crate::TrainError;

/// Labelled frames turned into input tensors.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Input channels per frame.
    pub channels: usize,
    /// `n × channels × 24 × 32` values, CHW per frame.
    pub inputs: Vec<f32>,
    /// Class index per frame.
    pub labels: Vec<usize>,
}

/// A model with only the input channels of `inputs` (to derive inputs with the reference).
pub fn input_shell(inputs: &[F32Input]) -> F32Model {
    F32Model {
        input_h: H,
        input_w: W,
        inputs: inputs.to_vec(),
        layers: vec![],
        n_classes: CLASSES,
    }
}

/// Appends the input channels of one frame (°C, row-major 24 × 32) to `out`, CHW, derived by
/// the f32 reference itself so that burn and vigil see the very same numbers.
pub fn push_chw(shell: &F32Model, frame: &[f32], out: &mut Vec<f32>) -> Result<(), TrainError> {
    let c = shell.inputs.len();
    let hwc = shell.input_tensor(frame)?;
    for ch in 0..c {
        out.extend((0..H * W).map(|p| hwc[p * c + ch]));
    }
    Ok(())
}

impl Prepared {
    /// Derives the input channels of every frame (°C, row-major 24 × 32).
    pub fn new(
        inputs: &[F32Input],
        samples: &[(ThermalClass, Vec<f32>)],
    ) -> Result<Self, TrainError> {
        let shell = input_shell(inputs);
        let c = inputs.len();
        let mut data = Vec::with_capacity(samples.len() * c * H * W);
        for (_, frame) in samples {
            push_chw(&shell, frame, &mut data)?;
        }
        Ok(Prepared {
            channels: c,
            inputs: data,
            labels: samples.iter().map(|(l, _)| l.index()).collect(),
        })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The input batch `[b, c, 24, 32]` of frames `idx`; `flip[k]` mirrors frame `k` left to
    /// right (a person is a person either way round).
    pub fn inputs(&self, idx: &[usize], flip: Option<&[bool]>, device: &Device) -> Tensor<4> {
        let aug: Vec<Augment> = (0..idx.len())
            .map(|k| Augment {
                flip: flip.is_some_and(|f| f.get(k).copied().unwrap_or(false)),
                ..Augment::default()
            })
            .collect();
        self.augmented(idx, &aug, device)
    }

    /// The input batch `[b, c, 24, 32]` of frames `idx`, frame `k` transformed by `aug[k]`
    /// (frames without an entry stay as they are).
    pub fn augmented(&self, idx: &[usize], aug: &[Augment], device: &Device) -> Tensor<4> {
        let per = self.channels * H * W;
        let mut v = Vec::with_capacity(idx.len() * per);
        for (k, &i) in idx.iter().enumerate() {
            let src = &self.inputs[i * per..(i + 1) * per];
            let a = aug.get(k).copied().unwrap_or_default();
            if a == Augment::default() {
                v.extend_from_slice(src);
                continue;
            }
            for plane in src.chunks(H * W) {
                for y in 0..H {
                    let sy = (y as isize - isize::from(a.dy)).clamp(0, H as isize - 1) as usize;
                    for x in 0..W {
                        let x = if a.flip { W - 1 - x } else { x };
                        let sx = (x as isize - isize::from(a.dx)).clamp(0, W as isize - 1) as usize;
                        v.push(plane[sy * W + sx]);
                    }
                }
            }
        }
        Tensor::from_data(TensorData::new(v, [idx.len(), self.channels, H, W]), device)
    }

    /// One-hot targets `[b, 3]` of frames `idx`.
    pub fn targets(&self, idx: &[usize], device: &Device) -> Tensor<2> {
        let mut v = vec![0f32; idx.len() * CLASSES];
        for (k, &i) in idx.iter().enumerate() {
            v[k * CLASSES + self.labels[i]] = 1.0;
        }
        Tensor::from_data(TensorData::new(v, [idx.len(), CLASSES]), device)
    }
}

/// How one training frame is transformed (augmentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    /// Mirror left to right.
    pub flip: bool,
    /// Shift down by this many rows (up if negative), repeating the edge row.
    pub dy: i8,
    /// Shift right by this many columns (left if negative), repeating the edge column.
    pub dx: i8,
}

/// A seeded Fisher–Yates shuffle.
pub fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

/// Splits `0..n` into (train, validation) indices: a seeded shuffle, then `val_fraction` of
/// the frames (at least one, at most `n − 1`) for validation. Both lists come back sorted.
pub fn split(
    n: usize,
    val_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    if n < 2 {
        return Err(TrainError::BadArgument(format!(
            "{n} labelled frame(s): at least 2 are needed to train and validate"
        )));
    }
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(TrainError::BadArgument(format!(
            "validation fraction {val_fraction} must be in [0, 1)"
        )));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed ^ 0x5711_7000);
    shuffle(&mut idx, &mut rng);
    let n_val = ((n as f64 * val_fraction).round() as usize).clamp(1, n - 1);
    let mut val = idx[..n_val].to_vec();
    let mut train = idx[n_val..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    Ok((train, val))
}

/// The samples at `idx`.
pub fn pick(samples: &[(ThermalClass, Vec<f32>)], idx: &[usize]) -> Vec<(ThermalClass, Vec<f32>)> {
    idx.iter().map(|&i| samples[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_seeded_and_disjoint() {
        let (t1, v1) = split(50, 0.2, 7).unwrap_or_default();
        let (t2, v2) = split(50, 0.2, 7).unwrap_or_default();
        assert_eq!((t1.clone(), v1.clone()), (t2, v2));
        assert_eq!(v1.len(), 10);
        assert!(v1.iter().all(|i| !t1.contains(i)));
        let (_, v3) = split(50, 0.2, 8).unwrap_or_default();
        assert_ne!(v1, v3);
    }

    #[test]
    fn shifts_repeat_the_edge_and_flips_mirror() {
        // One channel holding the column index, so every move is visible.
        let p = Prepared {
            channels: 1,
            inputs: (0..H * W).map(|i| (i % W) as f32).collect(),
            labels: vec![0],
        };
        let device = crate::train::cpu();
        let get = |a: Augment| -> Vec<f32> {
            crate::net::values(p.augmented(&[0], &[a], &device)).unwrap_or_default()
        };
        let plain = get(Augment::default());
        assert_eq!(plain, p.inputs);
        let right = get(Augment {
            dx: 2,
            ..Augment::default()
        });
        assert_eq!(&right[..4], &[0.0, 0.0, 0.0, 1.0]);
        let flipped = get(Augment {
            flip: true,
            ..Augment::default()
        });
        assert_eq!(flipped[0], (W - 1) as f32);
        let down = get(Augment {
            dy: 3,
            ..Augment::default()
        });
        assert_eq!(
            down, plain,
            "rows are all alike, a vertical shift changes nothing"
        );
        let old = p.inputs(&[0], Some(&[true]), &device);
        assert_eq!(crate::net::values(old).unwrap_or_default(), flipped);
    }

    #[test]
    fn one_frame_cannot_be_split() {
        assert!(matches!(split(1, 0.2, 1), Err(TrainError::BadArgument(_))));
    }
}
