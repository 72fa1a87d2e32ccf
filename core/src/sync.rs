//! The synchronisation primitives the core is built on, swapped for portable-atomic's on targets
//! without compare-and-swap and for loom's when the protocol is model-checked.

#[cfg(all(loom, feature = "std"))]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicUsize, Ordering};

#[cfg(all(not(loom), feature = "portable-atomic", feature = "std"))]
pub(crate) use portable_atomic::AtomicBool;
#[cfg(all(not(loom), feature = "portable-atomic"))]
pub(crate) use portable_atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicUsize, Ordering};

#[cfg(all(not(loom), not(feature = "portable-atomic"), feature = "std"))]
pub(crate) use core::sync::atomic::AtomicBool;
#[cfg(all(not(loom), not(feature = "portable-atomic")))]
pub(crate) use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicUsize, Ordering};

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

/// A cell whose accesses loom can check: `loom::cell::UnsafeCell` under `cfg(loom)`, which
/// reports a write that races a read; otherwise `core::cell::UnsafeCell` with loom's API.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer for reading; the caller guarantees no write overlaps.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a pointer for writing; the caller guarantees exclusive access.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
