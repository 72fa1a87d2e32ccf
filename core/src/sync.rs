//! The synchronisation primitives the core is built on, swapped for portable-atomic's on targets
//! without compare-and-swap and for loom's when the protocol is model-checked.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

#[cfg(all(not(loom), feature = "portable-atomic"))]
pub(crate) use portable_atomic::{AtomicU8, AtomicUsize, Ordering};

#[cfg(all(not(loom), not(feature = "portable-atomic")))]
pub(crate) use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// The reference-counted pointer that shares load errors: `alloc::sync::Arc`, or
/// `portable_atomic_util::Arc` with the `portable-atomic` feature (targets without CAS).
#[cfg(all(not(loom), not(feature = "portable-atomic")))]
pub use alloc::sync::Arc;

/// The reference-counted pointer that shares load errors: `alloc::sync::Arc`, or
/// `portable_atomic_util::Arc` with the `portable-atomic` feature (targets without CAS).
#[cfg(all(not(loom), feature = "portable-atomic"))]
pub use portable_atomic_util::Arc;

#[cfg(loom)]
pub use loom::sync::Arc;
