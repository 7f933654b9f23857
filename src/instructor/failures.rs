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
/// The clients with failures remembered at once (about 64 bytes each). Beyond it, a client
/// with none is refused until failures expire: a flood of failures from many networks cannot
/// grow memory without bound, nor push out the failures of the clients already counted.
pub const MAX_CLIENTS: usize = 65_536;
/// Expired failures are swept when the clients remembered reach twice as many as the last
/// sweep left, and at least this many, once the oldest has expired: a sweep per failure
/// would cost a pass over every client on every failure.
const FIRST_SWEEP: usize = 1024;

/// Failed sign-ins per client ([`client`]), forgotten a minute after the first.
pub struct FailureLimiter {
    failures: Mutex<Failures>,
    max_clients: usize,
}

#[derive(Default)]
struct Failures {
    /// Each client's failures and when the first of them was.
    clients: HashMap<IpAddr, (u32, Instant)>,
    /// The number of clients at which expired ones are swept next.
    sweep_at: usize,
    /// When the oldest failure left by the last sweep expires: no sweep before.
    next_expiry: Option<Instant>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::with_max_clients(MAX_CLIENTS)
    }
}

impl FailureLimiter {
    fn with_max_clients(max_clients: usize) -> Self {
        FailureLimiter {
            failures: Mutex::new(Failures::default()),
            max_clients,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the client at `ip` has used up its attempts for now; also a client without
    /// failures while [`MAX_CLIENTS`] others have some.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        self.is_blocked_at(ip, Instant::now())
    }

    /// [`Self::is_blocked`] at `now`.
    fn is_blocked_at(&self, ip: IpAddr, now: Instant) -> bool {
        let client = client(ip);
        let mut failures = self.lock();
        match failures.clients.get(&client) {
            Some((_, since)) if now.saturating_duration_since(*since) > FAILURE_WINDOW => {
                failures.clients.remove(&client);
                false
            }
            Some((count, _)) => *count >= MAX_FAILURES,
            None => failures.is_full(self.max_clients, now),
        }
    }

    /// Counts a failure for the client at `ip`.
    pub fn fail(&self, ip: IpAddr) {
        self.fail_at(ip, Instant::now());
    }

    /// [`Self::fail`] at `now`.
    fn fail_at(&self, ip: IpAddr, now: Instant) {
        let client = client(ip);
        let mut failures = self.lock();
        let full = failures.is_full(self.max_clients, now);
        match failures.clients.get_mut(&client) {
            Some(entry) if now.saturating_duration_since(entry.1) > FAILURE_WINDOW => {
                *entry = (1, now)
            }
            Some(entry) => entry.0 += 1,
            None if full => tracing::warn!(
                limit = self.max_clients,
                "too many clients failing the instructor sign-in at once: clients without failures wait a minute"
            ),
            None => {
                failures.clients.insert(client, (1, now));
            }
        }
    }
}

impl Failures {
    /// Whether `max_clients` have failures that have not expired at `now`, after sweeping
    /// the expired ones when it is time to.
    fn is_full(&mut self, max_clients: usize, now: Instant) -> bool {
        let crowded = self.clients.len() >= self.sweep_at.max(FIRST_SWEEP).min(max_clients);
        if crowded && self.next_expiry.is_none_or(|at| now > at) {
            self.clients
                .retain(|_, (_, since)| now.saturating_duration_since(*since) <= FAILURE_WINDOW);
            self.sweep_at = self.clients.len() * 2;
            self.next_expiry = self
                .clients
                .values()
                .map(|(_, since)| *since + FAILURE_WINDOW)
                .min();
        }
        self.clients.len() >= max_clients
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
    fn a_flood_of_clients_is_bounded_and_counted_clients_stay_counted() {
        // Arrange: a limit of 4 clients; one that used up its attempts, three with one failure.
        let limiter = FailureLimiter::with_max_clients(4);
        for _ in 0..MAX_FAILURES {
            limiter.fail(ip("2001:db8:0:1::1"));
        }
        for net in 2..5 {
            limiter.fail(ip(&format!("2001:db8:0:{net}::1")));
        }

        // Act: failures from a hundred networks more.
        for net in 100..200 {
            limiter.fail(ip(&format!("2001:db8:0:{net}::1")));
        }

        // Assert: no more clients remembered; a new one waits, the counted one is still
        // stopped, and those counted before go on counting.
        assert_eq!(limiter.lock().clients.len(), 4);
        assert!(limiter.is_blocked(ip("2001:db8:0:100::1")));
        assert!(limiter.is_blocked(ip("192.0.2.1")));
        assert!(limiter.is_blocked(ip("2001:db8:0:1::2")));
        assert!(!limiter.is_blocked(ip("2001:db8:0:2::1")));
        for _ in 1..MAX_FAILURES {
            limiter.fail(ip("2001:db8:0:2::1"));
        }
        assert!(limiter.is_blocked(ip("2001:db8:0:2::1")));
    }

    #[test]
    fn a_blocked_client_is_let_in_again_once_its_first_failure_is_a_minute_old() {
        // Arrange: a client that used up its attempts at `start`.
        let limiter = FailureLimiter::default();
        let start = Instant::now();
        let client = ip("192.0.2.9");
        for _ in 0..MAX_FAILURES {
            limiter.fail_at(client, start);
        }

        // Act and assert: still blocked at exactly a minute, let in just after it.
        assert!(limiter.is_blocked_at(client, start + FAILURE_WINDOW / 2));
        assert!(limiter.is_blocked_at(client, start + FAILURE_WINDOW));
        assert!(!limiter.is_blocked_at(client, start + FAILURE_WINDOW + Duration::from_nanos(1)));
    }

    #[test]
    fn a_failure_after_the_window_starts_the_count_again() {
        // Arrange: one failure short of the limit, then a minute and a second of nothing.
        let limiter = FailureLimiter::default();
        let start = Instant::now();
        let client = ip("192.0.2.10");
        for _ in 0..MAX_FAILURES - 1 {
            limiter.fail_at(client, start);
        }
        let later = start + FAILURE_WINDOW + Duration::from_secs(1);

        // Act: a failure then counts as the first of a new window.
        limiter.fail_at(client, later);

        // Assert: not blocked, and blocked once the new window has its own limit.
        assert!(!limiter.is_blocked_at(client, later));
        for _ in 1..MAX_FAILURES {
            limiter.fail_at(client, later);
        }
        assert!(limiter.is_blocked_at(client, later));
    }

    #[test]
    fn a_full_limiter_makes_room_once_the_failures_in_it_expire() {
        // Arrange: as many failing clients as the limiter holds, all at `start`.
        let limiter = FailureLimiter::with_max_clients(4);
        let start = Instant::now();
        for i in 1..=4 {
            limiter.fail_at(ip(&format!("198.51.100.{i}")), start);
        }
        let newcomer = ip("203.0.113.1");

        // Act and assert: a new client waits while they are remembered, and is let in, its
        // failure counted, once a minute has passed.
        assert!(limiter.is_blocked_at(newcomer, start + Duration::from_secs(1)));
        let later = start + FAILURE_WINDOW + Duration::from_secs(1);
        assert!(!limiter.is_blocked_at(newcomer, later));
        limiter.fail_at(newcomer, later);
        assert_eq!(limiter.lock().clients.get(&newcomer), Some(&(1, later)));
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
