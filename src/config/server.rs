//! `[server]`: where sessionlab listens, and with how many workers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use serde::{Deserialize, Deserializer, Serialize};

use super::read::WholeNumber;

/// `[server]`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSettings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Worker threads; absent means one per core.
    pub workers: Option<usize>,
    /// Whether `Forwarded`, `X-Forwarded-Proto` and `X-Forwarded-Host` are believed (Django's
    /// `SECURE_PROXY_SSL_HEADER` and `USE_X_FORWARDED_HOST` together): only behind a reverse
    /// proxy that sets them, replacing what clients send. False by default, as in Django.
    pub trust_forwarded_headers: bool,
}

impl ServerSettings {
    /// `host:port` as in a URL, an IPv6 address in brackets (`[::1]:8000`).
    pub fn address(&self) -> String {
        match self.bare_host() {
            host if host.contains(':') => format!("[{host}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }

    /// The socket addresses `host` and `port` stand for (a host name is looked up).
    pub fn socket_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        (self.bare_host(), self.port)
            .to_socket_addrs()
            .map(Iterator::collect)
    }

    /// The host without the brackets an IPv6 address may be written in.
    fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

/// The loopback address of `ip`'s family when `ip` is a wildcard (0.0.0.0, ::), which a
/// server listens on but a client cannot connect to.
pub fn loopback_for_wildcard(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(ip) if ip.is_unspecified() => Some(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => Some(Ipv6Addr::LOCALHOST.into()),
        _ => None,
    }
}

/// The values `server.host` takes.
pub(super) const HOST_ALLOWED: &str =
    "an address or host name to listen on, such as \"127.0.0.1\", \"::1\" or \"0.0.0.0\"";

/// The values `server.port` takes.
pub(super) const PORT_ALLOWED: &str = "a port number from 0 to 65535 (0: any free port)";

/// The most workers actix-web runs (it panics on more).
pub(super) const MAX_WORKERS: usize = 512;

/// The values `server.workers` takes.
pub(super) const WORKERS_ALLOWED: &str =
    "a whole number from 1 to 512 (absent: one per core, at most 512)";

/// `[server]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table [server] with keys host, port, workers, trust_forwarded_headers"
)]
pub(super) struct RawServer {
    pub(super) host: Option<String>,
    #[serde(default, deserialize_with = "port")]
    pub(super) port: Option<u16>,
    #[serde(default, deserialize_with = "workers")]
    pub(super) workers: Option<usize>,
    pub(super) trust_forwarded_headers: Option<bool>,
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    WholeNumber::read(d, PORT_ALLOWED)
}

fn workers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    WholeNumber::read(d, WORKERS_ALLOWED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::{refusal, with_test_profile};

    #[test]
    fn a_port_that_is_not_a_whole_number_is_refused() {
        let dir = with_test_profile("[server]\nport = 8000.5\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("server.port"), "{error}");
        assert!(error.contains("8000.5"), "{error}");
        assert!(error.contains("0 to 65535"), "{error}");
    }

    #[test]
    fn the_server_address_is_written_as_in_a_url() {
        let server = |host: &str| ServerSettings {
            host: host.into(),
            port: 8000,
            workers: None,
            trust_forwarded_headers: false,
        };

        assert_eq!(server("127.0.0.1").address(), "127.0.0.1:8000");
        assert_eq!(server("localhost").address(), "localhost:8000");
        assert_eq!(server("::1").address(), "[::1]:8000");
        assert_eq!(server("[::1]").address(), "[::1]:8000");
        assert_eq!(
            server("[::1]").socket_addrs().unwrap(),
            ["[::1]:8000".parse::<SocketAddr>().unwrap()]
        );
    }
}
