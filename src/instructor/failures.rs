//! Failed instructor sign-ins per client, so that the token cannot be guessed quickly: an
//! IPv4 client is its address, an IPv6 client its /64, the network one subscriber is given
//! (counting each IPv6 address apart would give a client 2⁶⁴ addresses to rotate through).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per client and window.
pub const MAX_FAILURES: u32 = 5;
/// The window failures are counted in.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Failed sign-ins per client ([`client`]), forgotten a minute after the first.
#[derive(Default)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl FailureLimiter {
    /// Whether the client at `ip` has used up its attempts for now.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let client = client(ip);
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&client) {
            Some((_, since)) if since.elapsed() > FAILURE_WINDOW => {
                map.remove(&client);
                false
            }
            Some((count, _)) => *count >= MAX_FAILURES,
            None => false,
        }
    }

    /// Counts a failure for the client at `ip`.
    pub fn fail(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, since)| since.elapsed() <= FAILURE_WINDOW);
        map.entry(client(ip)).or_insert((0, Instant::now())).0 += 1;
    }
}

/// The client `ip` belongs to, as failures are counted: an IPv4 address as it is (also when
/// a dual-stack listener sees it mapped into IPv6, `::ffff:a.b.c.d`, where its /64 would be
/// every IPv4 client at once), an IPv6 address as its /64.
pub fn client(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        // Arrange: one client's /64, each failure from another address in it.
        let limiter = FailureLimiter::default();

        // Act
        for i in 0..MAX_FAILURES {
            limiter.fail(ip(&format!("2001:db8:1:2:{i:x}::{:x}", i * 7 + 1)));
        }

        // Assert: any address of the /64 is stopped, the next /64 is not.
        assert!(limiter.is_blocked(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert!(limiter.is_blocked(ip("2001:db8:1:2::1")));
        assert!(!limiter.is_blocked(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn an_ipv4_client_is_counted_by_its_address_even_mapped_into_ipv6() {
        // Arrange
        let limiter = FailureLimiter::default();

        // Act: failures from 192.0.2.7, seen by a dual-stack listener.
        for _ in 0..MAX_FAILURES {
            limiter.fail(ip("::ffff:192.0.2.7"));
        }

        // Assert: that address is stopped, written either way; its neighbours are not.
        assert!(limiter.is_blocked(ip("192.0.2.7")));
        assert!(limiter.is_blocked(ip("::ffff:192.0.2.7")));
        assert!(!limiter.is_blocked(ip("192.0.2.8")));
        assert!(!limiter.is_blocked(ip("::ffff:192.0.2.8")));
    }

    #[test]
    fn clients_are_their_address_or_their_64() {
        assert_eq!(client(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            client(ip("2001:db8:aa:bb:1234:5678:9abc:def0")),
            ip("2001:db8:aa:bb::")
        );
        assert_eq!(client(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client(ip("::1")), ip("::"));
    }

    #[test]
    fn fewer_failures_than_the_limit_block_nobody() {
        let limiter = FailureLimiter::default();
        for _ in 1..MAX_FAILURES {
            limiter.fail(ip("2001:db8::1"));
        }
        assert!(!limiter.is_blocked(ip("2001:db8::2")));
        limiter.fail(ip("2001:db8::3"));
        assert!(limiter.is_blocked(ip("2001:db8::4")));
    }
}
