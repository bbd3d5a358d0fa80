//! SIMD kernels of [`crate::prepared`], one module per instruction set. Each public entry
//! point checks the CPU feature and the buffer sizes itself, so it is safe to call.
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
