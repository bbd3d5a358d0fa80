//! Quick latency check of every kernel on a model file, without burn:
//! `cargo run --release -p vigil-int8 --features std --example kernels -- MODEL.vgi8`.
use std::time::Instant;

use vigil_int8::{Kernel, Model, PreparedModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "firmware/int8/models/default.vgi8".into());
    let bytes = std::fs::read(&path)?;
    let model = Model::parse(&bytes)?;
    // Deterministic plausible frames: ambient plus a warm blob.
    let frames: Vec<Vec<i16>> = (0..256i32)
        .map(|k| {
            (0..768i32)
                .map(|p| {
                    let (y, x) = (p / 32, p % 32);
                    let blob = if (y - k % 24).pow(2) + (x - k % 32).pow(2) < 12 {
                        1200
                    } else {
                        0
                    };
                    (1500 + (k * 37) % 1500 + blob + (p * 7919 + k) % 60) as i16
                })
                .collect()
        })
        .collect();
    for k in Kernel::ALL {
        let Some(mut p) = PreparedModel::with_kernel(model, k) else {
            println!("{:<10} not available on this CPU", k.name());
            continue;
        };
        let mut classes = 0usize;
        for f in &frames {
            classes += p.infer(f)?.class;
        }
        let start = Instant::now();
        let mut passes = 0u32;
        while start.elapsed().as_secs_f64() < 1.0 {
            for f in &frames {
                std::hint::black_box(p.infer(std::hint::black_box(f))?);
            }
            passes += 1;
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / (f64::from(passes) * frames.len() as f64);
        println!(
            "{:<10} {us:8.2} µs/frame (class sum over the frames {classes})",
            k.name()
        );
    }
    Ok(())
}
