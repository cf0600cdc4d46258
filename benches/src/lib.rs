//! Shared code of the criterion benches: the minimal kernels the engine's kernels are
//! measured against. The fixtures live in the bench targets themselves.

pub mod minimal;
