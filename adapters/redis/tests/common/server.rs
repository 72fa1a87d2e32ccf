//! A private `redis-server` per test: on a free loopback port, without persistence, killed on
//! drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const BINARY: &str = "redis-server";
const START_ATTEMPTS: usize = 5;
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    tls: Option<Tls>,
    /// More arguments for `redis-server` (a cluster node's).
    extra: Vec<String>,
}

/// A TLS port besides the plain one, with the PEM files of the server's certificate, its key,
/// and the CA that signed it.
struct Tls {
    port: u16,
    files: TlsFiles,
}

/// The PEM files a TLS server needs.
#[derive(Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl RedisServer {
    /// Starts a server, or returns `None` (after saying why) when `redis-server` is not
    /// installed outside CI. In CI (`CI=true`) a missing server fails the test.
    pub fn start() -> Option<Self> {
        Self::start_with(None, Vec::new())
    }

    /// [`start`](Self::start), also listening for TLS on a port of its own with these files
    /// (no client certificates asked for).
    #[allow(dead_code, reason = "used with a rustls feature only")]
    pub fn start_tls(files: &TlsFiles) -> Option<Self> {
        Self::start_with(Some(files), Vec::new())
    }

    /// [`start`](Self::start) as a Redis Cluster node (its state files in `directory`), not
    /// yet part of any cluster.
    #[allow(dead_code, reason = "used with the cluster feature only")]
    pub fn start_cluster_node(directory: &std::path::Path) -> Option<Self> {
        let directory = directory.to_string_lossy().into_owned();
        let extra = ["--cluster-enabled", "yes", "--dir", &directory]
            .map(str::to_owned)
            .to_vec();
        Self::start_with(None, extra)
    }

    fn start_with(tls: Option<&TlsFiles>, extra: Vec<String>) -> Option<Self> {
        if Command::new(BINARY)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            let install =
                "install it with `bash ci/install.sh redis` (Debian package redis-server)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{BINARY} is not installed, so the Redis tier cannot be tested: {install}");
            }
            eprintln!("SKIPPED: {BINARY} is not installed; {install}");
            return None;
        }
        for _ in 0..START_ATTEMPTS {
            let mut server = RedisServer {
                child: None,
                port: free_port(),
                tls: tls.map(|files| Tls {
                    port: free_port(),
                    files: files.clone(),
                }),
                extra: extra.clone(),
            };
            // Another process may take the port between our probe and the server's bind.
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("{BINARY} did not start on a free port after {START_ATTEMPTS} attempts");
    }

    #[allow(dead_code, reason = "used with the cluster feature only")]
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The `rediss://` URL of the TLS port (started with [`start_tls`](Self::start_tls)).
    #[allow(dead_code, reason = "used with a rustls feature only")]
    pub fn tls_url(&self) -> String {
        let tls = self.tls.as_ref().expect("a server started with start_tls");
        format!("rediss://127.0.0.1:{}/", tls.port)
    }

    /// A blocking connection for what the tier itself never does (raw writes, `DEBUG SLEEP`).
    pub fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }

    /// Kills the server (SIGKILL, no goodbye to clients), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.spawn(),
            "{BINARY} did not come back on port {}",
            self.port
        );
    }

    /// Runs `DEBUG SLEEP` on a thread of its own: the server answers nobody for `seconds`.
    pub fn pause(&self, seconds: f64) -> thread::JoinHandle<()> {
        let mut connection = self.raw();
        thread::spawn(move || {
            redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg(seconds)
                .exec(&mut connection)
                .unwrap();
        })
    }

    /// Returns whether the server answers `PING`; `false` when it exited (its port was taken).
    fn spawn(&mut self) -> bool {
        let mut command = Command::new(BINARY);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "local"])
            .args(&self.extra);
        if let Some(tls) = &self.tls {
            command
                .args(["--tls-port", &tls.port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.files.certificate)
                .arg("--tls-key-file")
                .arg(&tls.files.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.files.ca)
                .args(["--tls-auth-clients", "no"]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {BINARY}: {error}"));
        self.child = Some(child);
        let deadline = Instant::now() + ANSWER_WITHIN;
        while Instant::now() < deadline {
            if let Some(Ok(Some(_exited))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return false;
            }
            if self.answers_ping() {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{BINARY} on port {} did not answer PING within {ANSWER_WITHIN:?}",
            self.port
        );
    }

    fn answers_ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_millis(200))
        else {
            return false;
        };
        redis::cmd("PING").query::<String>(&mut connection).is_ok()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    // The OS picks a free port; it is released at once for the server to bind.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
