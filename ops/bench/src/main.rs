//! Benchmark harness (see docs/performance.md).
fn main() {}
