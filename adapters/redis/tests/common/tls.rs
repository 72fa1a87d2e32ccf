//! `rediss://`: the tier over TLS to a real `redis-server --tls-port`, with a CA and a server
//! certificate made at test time (rcgen), trusted through `tls_root_certificates`; a client
//! that trusts another CA is refused.

use std::path::Path;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use readthrough_core::{Cache, Fetched, Status, Tier, Tiered, Timer};
use readthrough_redis::{ConnectError, Postcard, RedisTier, RedisTierConfig};

use super::server::{RedisServer, TlsFiles};

/// A CA, and a certificate for 127.0.0.1 that it signed, as PEM text.
struct Authority {
    ca: String,
    certificate: String,
    key: String,
}

fn authority() -> Authority {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let certificate = server_params.signed_by(&server_key, &issuer).unwrap();
    Authority {
        ca: ca.pem(),
        certificate: certificate.pem(),
        key: server_key.serialize_pem(),
    }
}

fn write(directory: &Path, authority: &Authority) -> TlsFiles {
    let files = TlsFiles {
        ca: directory.join("ca.pem"),
        certificate: directory.join("server.pem"),
        key: directory.join("server.key"),
    };
    std::fs::write(&files.ca, &authority.ca).unwrap();
    std::fs::write(&files.certificate, &authority.certificate).unwrap();
    std::fs::write(&files.key, &authority.key).unwrap();
    files
}

async fn connect<T: Timer + Clone + Send + Sync + 'static>(
    url: String,
    roots: &str,
    timer: &T,
) -> Result<RedisTier<String, Postcard, T>, ConnectError> {
    let config = RedisTierConfig::new()
        .prefix("test:tls")
        .call_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(5))
        .tls_root_certificates(roots.as_bytes().to_vec());
    RedisTier::connect(url, config, Postcard, timer.clone()).await
}

/// Two nodes over `rediss://`: a value one stores is a tier hit for the other, and an
/// invalidation crosses over within 100 ms; a client trusting another CA cannot connect.
pub async fn two_nodes_share_a_tier_over_tls<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let directory = tempfile::tempdir().unwrap();
    let trusted = authority();
    let files = write(directory.path(), &trusted);
    let Some(server) = RedisServer::start_tls(&files) else {
        return;
    };
    let url = server.tls_url();

    let node = |tier: RedisTier<String, Postcard, T>| {
        let cache = Cache::<String, String, String>::builder()
            .capacity(100)
            .timer(timer.clone())
            .ttl(Duration::from_secs(60))
            .lock_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let node = std::sync::Arc::new(Tiered::new(cache, tier.clone()).unwrap());
        tier.deliver_invalidations_to(&node);
        node
    };
    let a = node(connect(url.clone(), &trusted.ca, &timer).await.unwrap());
    let b = node(connect(url.clone(), &trusted.ca, &timer).await.unwrap());
    let key = "k".to_string();
    let load = |key: &String| {
        let value = format!("value of {key}");
        async move { Ok::<String, String>(value) }
    };
    assert_eq!(
        a.get_or_load(&key, load).await.unwrap().status,
        Status::Miss
    );
    let answer = b.get_or_load(&key, load).await.unwrap();
    assert_eq!(
        (answer.value.as_str(), answer.status),
        ("value of k", Status::TierHit)
    );
    assert!(matches!(
        Tier::<String, String>::fetch(a.tier(), &key).await,
        Fetched::Hit { .. }
    ));
    a.invalidate(&key).await;
    let start = timer.now();
    while b.cache().get(&key).is_some() {
        assert!(
            timer.now() - start < Duration::from_millis(100),
            "B kept its copy 100 ms after A's invalidate over TLS"
        );
        timer.sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(a.stats().tier_errors + b.stats().tier_errors, 0);

    // Another CA: the server's certificate does not verify, and nothing connects.
    let stranger = authority();
    let refused = connect(url, &stranger.ca, &timer).await;
    assert!(
        matches!(refused, Err(ConnectError::Connect(_))),
        "a client trusting another CA connected: {:?}",
        refused.err()
    );
}
