//! [`RedisTier`]: the core's [`Tier`] on one Redis connection per node.

use core::convert::Infallible;
use core::fmt;
use core::future::{Future, pending};
use core::time::Duration;
use std::sync::Arc;

use readthrough_core::{
    Announced, Announcement, Deleted, Fetched, InvalidationSink, Lifetime, LockOutcome, SendTier,
    Stored, Tier, TimeoutError, Timer, Unavailable, Unlocked, with_timeout,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisError, RedisResult,
    Script, Value,
};

use crate::backplane::Backplane;
use crate::breaker::{Admission, Breaker};
use crate::codec::Codec;
use crate::config::{ConfigError, RedisTierConfig};
#[cfg(feature = "tokio")]
use crate::io_thread::{IoThread, Lost};
use crate::link::Link;
use crate::message;
use crate::naming::{Entry, Naming};
use crate::stats::{Counters, TierStats};
use crate::token::{LockToken, new_token, random_u64};

/// A node's handle on the shared Redis tier: implements [`Tier`] for every key type `K` and
/// value type the codec `C` encodes, with every call bounded by `T`'s time.
///
/// One `RedisTier` is one node (one multiplexed RESP3 connection that also carries the
/// subscription); clones share it. See the crate docs for the commands it sends.
pub struct RedisTier<K, C, T> {
    inner: Arc<Inner<K, C, T>>,
}

impl<K, C, T> Clone for RedisTier<K, C, T> {
    fn clone(&self) -> Self {
        RedisTier {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K, C, T> {
    connection: Link,
    codec: Arc<C>,
    timer: T,
    config: RedisTierConfig,
    naming: Naming,
    breaker: Breaker,
    counters: Arc<Counters>,
    node: u64,
    backplane: Arc<Backplane<K, C>>,
    fetch: Arc<Script>,
    unlock: Arc<Script>,
    /// The I/O thread the connection and the calls run on, if configured.
    #[cfg(feature = "tokio")]
    io: Option<IoThread>,
}

/// `GET` and `PTTL` in one step, so a value and its remaining lifetime belong together.
const FETCH_SCRIPT: &str = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";
/// Deletes the lock only if it still holds this holder's token (not one that expired and was
/// taken by another node meanwhile).
const UNLOCK_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

/// Why [`RedisTier::connect`] failed.
///
/// ```
/// use readthrough_redis::{ConfigError, ConnectError};
/// let error = ConnectError::Config(ConfigError::ZeroTimeout);
/// assert!(error.to_string().contains("timeouts"));
/// ```
#[derive(Debug)]
pub enum ConnectError {
    /// The configuration cannot work.
    Config(ConfigError),
    /// The connection URL or info is not valid.
    Url(RedisError),
    /// Connecting, authenticating or subscribing failed.
    Connect(RedisError),
    /// No connection within the connect timeout.
    TimedOut,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Config(error) => write!(f, "invalid tier configuration: {error}"),
            ConnectError::Url(error) => write!(f, "invalid Redis connection info: {error}"),
            ConnectError::Connect(error) => write!(f, "cannot connect to Redis: {error}"),
            ConnectError::TimedOut => f.write_str("no Redis connection within the connect timeout"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Whether an error says the server is unreachable (which counts towards opening the breaker)
/// rather than that it answered with an error reply.
fn connection_trouble(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.is_unrecoverable_error()
}

/// Redis expiries are whole milliseconds; round up so a short TTL never becomes "no expiry".
fn whole_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

impl<K, C, T> RedisTier<K, C, T>
where
    K: 'static,
    C: Codec<K> + Send + Sync + 'static,
    T: Timer,
{
    /// Connects one node to Redis and subscribes to the tier's announcement channel.
    ///
    /// `url` is anything redis-rs accepts: `redis://host:6379/0`, with AUTH
    /// `redis://user:password@host:6379` (or `redis://:password@host` for a password only),
    /// TLS with `rediss://host:6380` (needs a redis-rs TLS feature, see the crate docs). The
    /// connection always speaks RESP3 (Redis 6 or later), so that one connection carries both
    /// the commands and the subscription.
    ///
    /// ```no_run
    /// use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
    /// use readthrough_tokio::TokioTimer;
    ///
    /// # async fn run() -> Result<(), readthrough_redis::ConnectError> {
    /// let tier: RedisTier<u64, _, _> = RedisTier::connect(
    ///     "redis://:secret@127.0.0.1:6379/0",
    ///     RedisTierConfig::new().prefix("myapp:rows"),
    ///     Postcard,
    ///     TokioTimer::new(),
    /// )
    /// .await?;
    /// # let _ = tier; Ok(()) }
    /// ```
    pub async fn connect(
        url: impl IntoConnectionInfo,
        config: RedisTierConfig,
        codec: C,
        timer: T,
    ) -> Result<Self, ConnectError> {
        config.check().map_err(ConnectError::Config)?;
        let info = url.into_connection_info().map_err(ConnectError::Url)?;
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let info = info.set_redis_settings(resp3);
        #[cfg(any(feature = "tokio-rustls", feature = "smol-rustls"))]
        let client = match &config.tls_roots {
            Some(pem) => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                };
                Client::build_with_tls(info, certificates)
            }
            None => Client::open(info),
        };
        #[cfg(not(any(feature = "tokio-rustls", feature = "smol-rustls")))]
        let client = Client::open(info);
        let client = client.map_err(ConnectError::Url)?;

        let node = random_u64();
        let codec = Arc::new(codec);
        let counters = Arc::new(Counters::default());
        let backplane = Arc::new(Backplane::new(node, codec.clone(), counters.clone()));
        let manager_config = ConnectionManagerConfig::new()
            .set_push_sender(hearing(&backplane))
            .set_automatic_resubscription()
            .set_connection_timeout(Some(config.connect_timeout))
            // Our own call timeout bounds each call; reconnection keeps trying in the background
            // (a few quick attempts, then again on the next call) until the server is back.
            .set_response_timeout(None)
            .set_number_of_retries(2)
            .set_max_delay(config.open_for);
        let naming = Naming::new(&config.prefix);
        let channel = naming.channel().to_vec();
        let connecting = async move {
            let mut connection = ConnectionManager::new_with_config(client, manager_config).await?;
            connection.subscribe(&channel).await?;
            Ok::<_, RedisError>(Link::Server(connection))
        };
        Self::finish(connecting, config, codec, timer, node, counters, backplane).await
    }

    /// Connects to a Redis Cluster through any of its `nodes` (redis-rs's cluster connection:
    /// each command goes to the node that serves its key's slot, following redirections), and
    /// subscribes to the prefix's announcement channel, which classic pub/sub delivers
    /// cluster-wide. A key's value and lock share a hash tag, so its calls touch one slot. Needs
    /// the `cluster` feature; TLS and AUTH come from the nodes' URLs as in
    /// [`connect`](Self::connect) (`tls_root_certificates` is not applied to a cluster).
    ///
    /// ```no_run
    /// use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
    /// use readthrough_tokio::TokioTimer;
    ///
    /// # async fn run() -> Result<(), readthrough_redis::ConnectError> {
    /// let nodes = ["redis://10.0.0.1:7000/", "redis://10.0.0.2:7000/"];
    /// let tier: RedisTier<u64, _, _> =
    ///     RedisTier::connect_cluster(nodes, RedisTierConfig::new(), Postcard, TokioTimer::new())
    ///         .await?;
    /// # let _ = tier; Ok(()) }
    /// ```
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster<U: IntoConnectionInfo>(
        nodes: impl IntoIterator<Item = U>,
        config: RedisTierConfig,
        codec: C,
        timer: T,
    ) -> Result<Self, ConnectError> {
        config.check().map_err(ConnectError::Config)?;
        let node = random_u64();
        let codec = Arc::new(codec);
        let counters = Arc::new(Counters::default());
        let backplane = Arc::new(Backplane::new(node, codec.clone(), counters.clone()));
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .use_protocol(ProtocolVersion::RESP3)
            .push_sender(hearing(&backplane))
            .connection_timeout(config.connect_timeout)
            .retries(2)
            .build()
            .map_err(ConnectError::Url)?;
        let channel = Naming::new(&config.prefix).channel().to_vec();
        let connecting = async move {
            let mut connection = client.get_async_connection().await?;
            connection.subscribe(&channel).await?;
            Ok::<_, RedisError>(Link::Cluster(connection))
        };
        Self::finish(connecting, config, codec, timer, node, counters, backplane).await
    }

    /// The tier, once `connecting` (which connects and subscribes) is done within the connect
    /// timeout, on the I/O thread if the config asks for one.
    async fn finish(
        connecting: impl Future<Output = RedisResult<Link>> + Send + 'static,
        config: RedisTierConfig,
        codec: Arc<C>,
        timer: T,
        node: u64,
        counters: Arc<Counters>,
        backplane: Arc<Backplane<K, C>>,
    ) -> Result<Self, ConnectError> {
        #[cfg(feature = "tokio")]
        let io = io_thread(&config)?;
        #[cfg(feature = "tokio")]
        let connected = on_io(io.as_ref(), &timer, config.connect_timeout, connecting).await;
        #[cfg(not(feature = "tokio"))]
        let connected = with_timeout(&timer, config.connect_timeout, connecting).await;
        let connection = match connected {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(ConnectError::Connect(error)),
            Err(TimeoutError) => return Err(ConnectError::TimedOut),
        };
        let naming = Naming::new(&config.prefix);
        Ok(RedisTier {
            inner: Arc::new(Inner {
                connection,
                breaker: Breaker::new(config.failures_to_open, config.open_for),
                codec,
                timer,
                config,
                naming,
                counters,
                node,
                backplane,
                fetch: Arc::new(Script::new(FETCH_SCRIPT)),
                unlock: Arc::new(Script::new(UNLOCK_SCRIPT)),
                #[cfg(feature = "tokio")]
                io,
            }),
        })
    }

    /// Where keys that other nodes invalidate are delivered (replacing any earlier sink); the
    /// cache passes its local invalidation here. Called from the connection's task.
    ///
    /// ```no_run
    /// # async fn run(tier: readthrough_redis::RedisTier<u64, readthrough_redis::Postcard, readthrough_tokio::TokioTimer>) {
    /// tier.on_invalidation(|key: &u64| println!("drop {key} from L1"));
    /// # }
    /// ```
    pub fn on_invalidation(&self, sink: impl InvalidationSink<K> + Send + Sync + 'static) {
        self.inner.backplane.set_sink(Box::new(sink));
    }

    /// Delivers the keys other nodes invalidate to `cache` (usually a
    /// [`Tiered`](readthrough_core::Tiered) that owns this tier), replacing any earlier sink.
    /// The tier keeps only a weak reference: it does not keep the cache alive, and once the
    /// cache is dropped the invalidations are ignored.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// use readthrough_core::Tiered;
    /// use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
    /// use readthrough_tokio::TokioTimer;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let timer = TokioTimer::new();
    /// let tier = RedisTier::<u64, _, _>::connect(
    ///     "redis://127.0.0.1:6379/0", RedisTierConfig::new(), Postcard, timer.clone(),
    /// ).await?;
    /// let cache = readthrough_core::Cache::<u64, String>::builder()
    ///     .capacity(10_000)
    ///     .timer(timer)
    ///     .ttl(Duration::from_secs(60))
    ///     .lock_timeout(Duration::from_secs(1))
    ///     .build()?;
    /// let tiered = Arc::new(Tiered::new(cache, tier.clone())?);
    /// tier.deliver_invalidations_to(&tiered);
    /// # Ok(()) }
    /// ```
    pub fn deliver_invalidations_to<S>(&self, cache: &Arc<S>)
    where
        S: InvalidationSink<K> + Send + Sync + 'static,
    {
        let cache = Arc::downgrade(cache);
        self.on_invalidation(move |key: &K| {
            if let Some(cache) = cache.upgrade() {
                cache.invalidate_local(key);
            }
        });
    }

    /// The counters since this node connected, and the breaker's state.
    ///
    /// ```no_run
    /// # fn run(tier: readthrough_redis::RedisTier<u64, readthrough_redis::Postcard, readthrough_tokio::TokioTimer>) {
    /// let stats = tier.stats();
    /// println!("tier hits {} misses {} timeouts {}", stats.hits, stats.misses, stats.timeouts);
    /// # }
    /// ```
    pub fn stats(&self) -> TierStats {
        self.inner.counters.snapshot(self.inner.breaker.state())
    }
}

/// The I/O thread `config` asks for, started.
#[cfg(feature = "tokio")]
fn io_thread(config: &RedisTierConfig) -> Result<Option<IoThread>, ConnectError> {
    if !config.io_thread {
        return Ok(None);
    }
    IoThread::start()
        .map(Some)
        .map_err(|error| ConnectError::Connect(RedisError::from(error)))
}

/// Runs `call` on the I/O thread if there is one (else here), bounded by `limit` on `timer`:
/// the caller's timer bounds the wait, the I/O thread reads the reply whenever it comes.
#[cfg(feature = "tokio")]
async fn on_io<T, F, R>(
    io: Option<&IoThread>,
    timer: &T,
    limit: Duration,
    call: F,
) -> Result<RedisResult<R>, TimeoutError>
where
    T: Timer,
    F: Future<Output = RedisResult<R>> + Send + 'static,
    R: Send + 'static,
{
    match io {
        Some(io) => {
            let ran = with_timeout(timer, limit, io.run(call)).await;
            ran.map(|reply| {
                reply.unwrap_or_else(|Lost| {
                    let lost = std::io::Error::other("the tier's I/O thread dropped the call");
                    Err(RedisError::from(lost))
                })
            })
        }
        None => with_timeout(timer, limit, call).await,
    }
}

/// What the connection calls with each push message: announcements go to the backplane.
fn hearing<K, C>(
    backplane: &Arc<Backplane<K, C>>,
) -> impl Fn(PushInfo) -> Result<(), Infallible> + Send + Sync + 'static
where
    C: Codec<K>,
    Backplane<K, C>: Send + Sync + 'static,
{
    let hears = backplane.clone();
    move |push: PushInfo| {
        if push.kind == PushKind::Message
            && let Some(Value::BulkString(payload)) = push.data.get(1)
        {
            hears.heard(payload);
        }
        Ok(())
    }
}

impl<K, C, T: Timer> RedisTier<K, C, T> {
    fn bump(&self, counter: impl FnOnce(&Counters) -> &std::sync::atomic::AtomicU64) {
        Counters::bump(counter(&self.inner.counters));
    }

    /// Runs one call against the server: skipped while the breaker is open, bounded by the call
    /// timeout, its failure counted and fed to the breaker.
    async fn call<R, F, Fut>(&self, command: F) -> Result<R, Unavailable>
    where
        F: FnOnce(Link) -> Fut,
        Fut: Future<Output = RedisResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        let inner = &*self.inner;
        if inner.breaker.admit(inner.timer.now()) == Admission::Skip {
            self.bump(|c| &c.skipped);
            return Err(Unavailable::CircuitOpen);
        }
        let running = command(inner.connection.clone());
        let limit = inner.config.call_timeout;
        #[cfg(feature = "tokio")]
        let ran = on_io(inner.io.as_ref(), &inner.timer, limit, running).await;
        #[cfg(not(feature = "tokio"))]
        let ran = with_timeout(&inner.timer, limit, running).await;
        match ran {
            Ok(Ok(reply)) => {
                inner.breaker.succeeded();
                Ok(reply)
            }
            Ok(Err(error)) => {
                self.bump(|c| &c.failures);
                if connection_trouble(&error) {
                    self.failed();
                } else {
                    // The server answered: it is up, whatever it said.
                    inner.breaker.succeeded();
                }
                Err(Unavailable::Failed)
            }
            Err(TimeoutError) => {
                self.bump(|c| &c.timeouts);
                self.failed();
                Err(Unavailable::TimedOut)
            }
        }
    }

    fn failed(&self) {
        if self.inner.breaker.failed(self.inner.timer.now()) {
            self.bump(|c| &c.breaker_opened);
        }
    }

    /// The key's bytes; a key the codec refuses cannot reach the tier at all.
    fn encode_key(&self, key: &K) -> Result<Vec<u8>, Unavailable>
    where
        C: Codec<K>,
    {
        let mut bytes = Vec::new();
        match self.inner.codec.encode(key, &mut bytes) {
            Ok(()) => Ok(bytes),
            Err(_) => {
                self.bump(|c| &c.unencodable);
                Err(Unavailable::Failed)
            }
        }
    }

    /// Removes what a store could not replace, so that no node reads the outdated value.
    async fn remove_outdated(&self, name: Vec<u8>) {
        let _ = self
            .call(|mut connection| async move {
                redis::cmd("DEL")
                    .arg(name)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await;
    }
}

impl<K, V, C, T> Tier<K, V> for RedisTier<K, C, T>
where
    C: Codec<K> + Codec<V>,
    T: Timer,
{
    type Token = LockToken;

    async fn fetch(&self, key: &K) -> Fetched<V> {
        let name = match self.encode_key(key) {
            Ok(key) => self.inner.naming.name(Entry::Value, &key),
            Err(unavailable) => return Fetched::Unavailable(unavailable),
        };
        let script = self.inner.fetch.clone();
        let reply = self
            .call(|mut connection| async move {
                script
                    .key(name)
                    .invoke_async::<(Option<Vec<u8>>, i64)>(&mut connection)
                    .await
            })
            .await;
        let (bytes, millis_left) = match reply {
            Ok((Some(bytes), millis_left)) if millis_left != -2 => (bytes, millis_left),
            Ok(_) => {
                self.bump(|c| &c.misses);
                return Fetched::Miss;
            }
            Err(unavailable) => return Fetched::Unavailable(unavailable),
        };
        match Codec::<V>::decode(&*self.inner.codec, &bytes) {
            Ok(value) => {
                self.bump(|c| &c.hits);
                Fetched::Hit {
                    value,
                    lifetime: match u64::try_from(millis_left) {
                        Ok(millis) => Lifetime::Remaining(Duration::from_millis(millis)),
                        Err(_) => Lifetime::Unbounded,
                    },
                }
            }
            Err(_) => {
                self.bump(|c| &c.undecodable);
                Fetched::Undecodable
            }
        }
    }

    async fn store(&self, key: &K, value: &V, ttl: Duration) -> Stored {
        let name = match self.encode_key(key) {
            Ok(key) => self.inner.naming.name(Entry::Value, &key),
            Err(unavailable) => return Stored::Unavailable(unavailable),
        };
        let mut bytes = Vec::new();
        if Codec::<V>::encode(&*self.inner.codec, value, &mut bytes).is_err() {
            self.bump(|c| &c.unencodable);
            self.remove_outdated(name).await;
            return Stored::Unencodable;
        }
        if bytes.len() > self.inner.config.max_value_bytes {
            self.bump(|c| &c.too_large);
            self.remove_outdated(name).await;
            return Stored::TooLarge;
        }
        let stored = self
            .call(|mut connection| async move {
                redis::cmd("SET")
                    .arg(name)
                    .arg(bytes)
                    .arg("PX")
                    .arg(whole_millis(ttl))
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
        match stored {
            Ok(()) => {
                self.bump(|c| &c.stores);
                Stored::Stored
            }
            Err(unavailable) => Stored::Unavailable(unavailable),
        }
    }

    async fn delete(&self, key: &K) -> Deleted {
        let name = match self.encode_key(key) {
            Ok(key) => self.inner.naming.name(Entry::Value, &key),
            Err(unavailable) => return Deleted::Unavailable(unavailable),
        };
        let removed = self
            .call(|mut connection| async move {
                redis::cmd("DEL")
                    .arg(name)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await;
        match removed {
            Ok(0) => Deleted::Absent,
            Ok(_) => {
                self.bump(|c| &c.deletes);
                Deleted::Deleted
            }
            Err(unavailable) => Deleted::Unavailable(unavailable),
        }
    }

    async fn lock(&self, key: &K, hold_for: Duration) -> LockOutcome<LockToken> {
        let name = match self.encode_key(key) {
            Ok(key) => self.inner.naming.name(Entry::Lock, &key),
            Err(unavailable) => return LockOutcome::Unavailable(unavailable),
        };
        let token = new_token();
        let taken = self
            .call(|mut connection| async move {
                redis::cmd("SET")
                    .arg(name)
                    .arg(&token.0[..])
                    .arg("NX")
                    .arg("PX")
                    .arg(whole_millis(hold_for))
                    .query_async::<Option<String>>(&mut connection)
                    .await
            })
            .await;
        match taken {
            Ok(Some(_)) => {
                self.bump(|c| &c.locks_acquired);
                LockOutcome::Acquired(token)
            }
            Ok(None) => {
                self.bump(|c| &c.locks_held_elsewhere);
                LockOutcome::HeldElsewhere
            }
            Err(unavailable) => LockOutcome::Unavailable(unavailable),
        }
    }

    async fn unlock(&self, key: &K, token: LockToken) -> Unlocked {
        let name = match self.encode_key(key) {
            Ok(key) => self.inner.naming.name(Entry::Lock, &key),
            Err(unavailable) => return Unlocked::Unavailable(unavailable),
        };
        let script = self.inner.unlock.clone();
        let released = self
            .call(|mut connection| async move {
                script
                    .key(name)
                    .arg(&token.0[..])
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await;
        match released {
            Ok(0) => {
                self.bump(|c| &c.unlocks_lost);
                Unlocked::Lost
            }
            Ok(_) => {
                self.bump(|c| &c.unlocks_released);
                Unlocked::Released
            }
            Err(unavailable) => Unlocked::Unavailable(unavailable),
        }
    }

    async fn announce(&self, key: &K, announcement: Announcement) -> Announced {
        let key = match self.encode_key(key) {
            Ok(key) => key,
            Err(unavailable) => return Announced::Unavailable(unavailable),
        };
        let payload = message::encode(self.inner.node, announcement, &key);
        let channel = self.inner.naming.channel().to_vec();
        let published = self
            .call(|mut connection| async move {
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await;
        match published {
            Ok(_) => {
                self.bump(|c| &c.announcements_sent);
                Announced::Sent
            }
            Err(unavailable) => Announced::Unavailable(unavailable),
        }
    }

    fn landing(&self, key: &K) -> impl Future<Output = Announcement> {
        let wait = self
            .encode_key(key)
            .ok()
            .map(|key| self.inner.backplane.wait_for(key));
        async move {
            match wait {
                Some(wait) => wait.wait().await,
                // A key that cannot be encoded is never announced: only the caller's bound ends
                // this wait.
                None => pending().await,
            }
        }
    }
}

/// Every call's future is `Send` (the compiler checks it here), so a `Tiered` node on Redis
/// refreshes in the background
/// ([`Tiered::get_or_revalidate_in_background`](readthrough_core::Tiered::get_or_revalidate_in_background)).
impl<K, V, C, T> SendTier<K, V> for RedisTier<K, C, T>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
    C: Codec<K> + Codec<V> + Send + Sync + 'static,
    T: Timer<Sleep: Send> + Send + Sync + 'static,
{
    fn fetch_send(&self, key: &K) -> impl Future<Output = Fetched<V>> + Send {
        self.fetch(key)
    }

    fn store_send(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored> + Send {
        self.store(key, value, ttl)
    }

    fn delete_send(&self, key: &K) -> impl Future<Output = Deleted> + Send {
        Tier::<K, V>::delete(self, key)
    }

    fn lock_send(
        &self,
        key: &K,
        hold_for: Duration,
    ) -> impl Future<Output = LockOutcome<LockToken>> + Send {
        Tier::<K, V>::lock(self, key, hold_for)
    }

    fn unlock_send(&self, key: &K, token: LockToken) -> impl Future<Output = Unlocked> + Send {
        Tier::<K, V>::unlock(self, key, token)
    }

    fn announce_send(
        &self,
        key: &K,
        announcement: Announcement,
    ) -> impl Future<Output = Announced> + Send {
        Tier::<K, V>::announce(self, key, announcement)
    }

    fn landing_send(&self, key: &K) -> impl Future<Output = Announcement> + Send {
        Tier::<K, V>::landing(self, key)
    }
}
