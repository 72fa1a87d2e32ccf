//! What the cache calls on a miss.

use alloc::vec::Vec;
use core::future::Future;

/// Loads the value for one key on a miss.
///
/// Implemented for every closure loader ([`LoadFn`]): an async closure
/// `async |key: &K| -> Result<T, E>`, or a closure `Fn(&K) -> impl Future<Output = Result<T,
/// E>>`; implement it yourself for a loader with state. The cache takes the loader by value, so to reuse one
/// loader across calls implement the trait for a reference to it:
///
/// ```
/// use readthrough_core::{Cache, Loader};
/// use std::collections::HashMap;
///
/// struct Db(HashMap<u32, String>);
///
/// impl Loader<u32> for &Db {
///     type Value = String;
///     type Error = &'static str;
///     async fn load(&self, key: &u32) -> Result<String, &'static str> {
///         self.0.get(key).cloned().ok_or("no such row")
///     }
/// }
///
/// # futures_lite::future::block_on(async {
/// let db = Db(HashMap::from([(1, "one".to_string())]));
/// let cache = Cache::<u32, String, &str>::new(100).unwrap();
/// assert_eq!(cache.get_or_load(&1, &db).await.unwrap().value, "one");
/// assert!(cache.get_or_load(&2, &db).await.is_err());
/// # });
/// ```
///
/// An async closure works directly, borrowing the key:
///
/// ```
/// use readthrough_core::Cache;
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u64, u64>::new(100).unwrap();
/// let answer = cache.get_or_load(&21, async |k: &u64| Ok(k * 2)).await;
/// assert_eq!(answer.unwrap().value, 42);
/// # });
/// ```
///
/// So does a closure that returns a future; a future made in an `async move` block cannot
/// borrow the key, so it copies what it needs:
///
/// ```
/// use readthrough_core::Cache;
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u64, u64>::new(100).unwrap();
/// let answer = cache.get_or_load(&21, |k: &u64| { let k = *k; async move { Ok(k * 2) } }).await;
/// assert_eq!(answer.unwrap().value, 42);
/// # });
/// ```
pub trait Loader<K> {
    /// What a load produces: the cached value, or `(value, Option<ttl>)` for the `_with_ttl`
    /// methods.
    type Value;
    /// The error a load can fail with.
    type Error;

    /// Loads the value for `key`.
    fn load(&self, key: &K) -> impl Future<Output = Result<Self::Value, Self::Error>>;
}

/// A closure that loads: `Fn(&K)` returning a future whose type may borrow the key, so that
/// both `|k: &K| async move { .. }` and the async closure `async |k: &K| ..` are loaders.
///
/// Implemented for every such closure; you never implement it. (`AsyncFn` would say the same,
/// but a bound on it cannot ask for a `Send` future on stable Rust, and a type known only as
/// `impl Fn(&K) -> Fut` does not implement it.) An async closure that *moves* owned state in
/// (`async move |k| ..` with an `Arc` captured) is not `Fn`, because its future borrows that
/// state from the closure: capture a reference instead, or clone inside a plain closure.
pub trait LoadFn<'a, K: 'a + ?Sized>: Fn(&'a K) -> <Self as LoadFn<'a, K>>::Load {
    /// The future one call returns.
    type Load: Future<Output = Self::Loaded>;
    /// What that future resolves to.
    type Loaded;
}

impl<'a, K: 'a + ?Sized, F, Fut> LoadFn<'a, K> for F
where
    F: Fn(&'a K) -> Fut,
    Fut: Future,
{
    type Load = Fut;
    type Loaded = Fut::Output;
}

impl<K, F, T, E> Loader<K> for F
where
    F: for<'a> LoadFn<'a, K, Loaded = Result<T, E>>,
{
    type Value = T;
    type Error = E;

    fn load(&self, key: &K) -> impl Future<Output = Result<T, E>> {
        self(key)
    }
}

/// A [`Loader`] whose loads can run in a spawned task: what
/// [`Cache::get_or_revalidate_in_background`](crate::Cache::get_or_revalidate_in_background)
/// takes.
///
/// A background task must be `Send + 'static`, and so must the load it runs. For a closure
/// that returns a `Send` future this trait is implemented already. A struct loader adds one
/// impl whose body is its own `load`:
///
/// ```
/// use core::future::Future;
/// use readthrough_core::{Loader, SendLoader};
///
/// struct Rows;
///
/// impl Loader<u32> for Rows {
///     type Value = String;
///     type Error = &'static str;
///     async fn load(&self, key: &u32) -> Result<String, &'static str> {
///         Ok(format!("row {key}"))
///     }
/// }
///
/// impl SendLoader<u32> for Rows {
///     fn load_send(&self, key: &u32) -> impl Future<Output = Result<String, &'static str>> + Send {
///         self.load(key)
///     }
/// }
/// ```
///
/// Why `Loader` alone is not enough: the future of a generic loader's `load` is an
/// `impl Future` whose `Send`-ness Rust lets only code that knows the concrete loader see
/// (naming it in a bound needs return-type notation, unstable in Rust 1.88). For a concrete
/// struct the compiler sees it, which is why the impl above compiles. For the same reason an
/// `async` closure (`async |k: &u32| ..`) is a [`Loader`] but not a `SendLoader`: its future
/// type cannot be named in a `Send` bound on stable Rust. Write it as `|k: &u32| { let k =
/// *k; async move { .. } }` for background refresh.
pub trait SendLoader<K>: Loader<K> + Send + Sync + 'static {
    /// [`load`](Loader::load), as a future that can move to another thread.
    fn load_send(&self, key: &K) -> impl Future<Output = Result<Self::Value, Self::Error>> + Send;
}

impl<K, F, T, E> SendLoader<K> for F
where
    F: for<'a> LoadFn<'a, K, Loaded = Result<T, E>> + Send + Sync + 'static,
    for<'a> <F as LoadFn<'a, K>>::Load: Send,
{
    fn load_send(&self, key: &K) -> impl Future<Output = Result<T, E>> + Send {
        self(key)
    }
}

/// A loader called through its [`SendLoader`] method: a `Loader` whose future generic code sees
/// to be `Send`, for loads that run inside a background task's larger future.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
pub(crate) struct Sending<'a, Ld>(pub(crate) &'a Ld);

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<K, Ld: SendLoader<K>> Loader<K> for Sending<'_, Ld> {
    type Value = Ld::Value;
    type Error = Ld::Error;

    fn load(&self, key: &K) -> impl Future<Output = Result<Self::Value, Self::Error>> {
        self.0.load_send(key)
    }
}

/// Loads the values for several keys in one call (a batch query).
///
/// Must return exactly one value per key, in the order of `keys`; any other count is reported as
/// [`Error::BatchSize`](crate::Error::BatchSize) and nothing is cached. Implemented for every
/// [`LoadFn`] over `[&K]`: an async closure `async |keys: &[&K]| ..`, or a closure
/// `Fn(&[&K]) -> impl Future<Output = Result<Vec<T>, E>>`.
///
/// ```
/// use readthrough_core::Cache;
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u32, u32>::new(100).unwrap();
/// let squares = async |keys: &[&u32]| Ok(keys.iter().map(|k| **k * **k).collect());
/// let answers = cache.get_or_load_many(&[2, 3], squares).await.unwrap();
/// assert_eq!(answers[1].value, 9);
/// # });
/// ```
pub trait BatchLoader<K> {
    /// What a load produces per key.
    type Value;
    /// The error a load can fail with.
    type Error;

    /// Loads the values for `keys`, one per key, in order.
    fn load_many(&self, keys: &[&K])
    -> impl Future<Output = Result<Vec<Self::Value>, Self::Error>>;
}

impl<K, F, T, E> BatchLoader<K> for F
where
    F: for<'a> LoadFn<'a, [&'a K], Loaded = Result<Vec<T>, E>>,
{
    type Value = T;
    type Error = E;

    fn load_many(&self, keys: &[&K]) -> impl Future<Output = Result<Vec<T>, E>> {
        self(keys)
    }
}
