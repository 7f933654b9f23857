//! Session keys as Django makes and checks them: 32 characters of `[a-z0-9]` from the operating
//! system's CSPRNG (about 165 bits), and "valid" meaning at least 8 characters long.

use std::cell::RefCell;

/// Django's `VALID_KEY_CHARS`: `string.ascii_lowercase + string.digits`.
pub const VALID_KEY_CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a generated key (`get_random_string(32, VALID_KEY_CHARS)`).
pub const KEY_LENGTH: usize = 32;
/// Django's `_validate_session_key`: shorter keys are invalid.
pub const MIN_KEY_LENGTH: usize = 8;
/// The longest key a store keeps (`session_key varchar(40)`).
pub const MAX_STORED_KEY_LENGTH: usize = 40;

/// Draws a new session key from the OS CSPRNG, uniformly over [`VALID_KEY_CHARS`].
pub fn new_session_key() -> Result<String, getrandom::Error> {
    // 252 = 7 * 36: bytes at or above it are redrawn so every character is equally likely.
    const ACCEPT_BELOW: u8 = 252;
    let mut key = String::with_capacity(KEY_LENGTH);
    let mut buf = [0u8; KEY_DRAW];
    while key.len() < KEY_LENGTH {
        RANDOM.with_borrow_mut(|random| random.fill(&mut buf))?;
        for &b in buf.iter().filter(|&&b| b < ACCEPT_BELOW) {
            if key.len() == KEY_LENGTH {
                break;
            }
            key.push(VALID_KEY_CHARS[usize::from(b % 36)] as char);
        }
    }
    Ok(key)
}

/// Random bytes taken per round of [`new_session_key`]: enough for a whole key unless more than
/// 16 of them are redrawn (one key in about 2 × 10^18).
const KEY_DRAW: usize = 48;

/// Bytes fetched from the OS at once for each thread's [`RandomBatch`]: one `getrandom` call
/// for 85 keys rather than one for every key (BENCHMARKS.md, change 36).
const RANDOM_BATCH: usize = 4096;

/// The OS CSPRNG's bytes, fetched a batch at a time and handed out once each, in order.
///
/// The bytes not yet handed out are the next keys' randomness, kept in the thread's memory as
/// a user-space generator (`rand`'s `ThreadRng`, which actix-session and tower-sessions draw
/// their keys from) keeps its state; unlike such a generator, every byte of a key comes from
/// the OS itself. A forked child would hand out its parent's batch again; sessionlab never
/// forks.
struct RandomBatch {
    bytes: [u8; RANDOM_BATCH],
    /// How many of `bytes` were handed out (all of them before the first fetch).
    used: usize,
}

impl RandomBatch {
    const EMPTY: RandomBatch = RandomBatch {
        bytes: [0; RANDOM_BATCH],
        used: RANDOM_BATCH,
    };

    /// Fills `out` (at most [`RANDOM_BATCH`] bytes) with bytes never handed out before,
    /// fetching a new batch from the OS when the rest of this one is too short. A failed fetch
    /// hands out nothing, and the next call fetches again.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), getrandom::Error> {
        if RANDOM_BATCH - self.used < out.len() {
            self.used = RANDOM_BATCH;
            getrandom::fill(&mut self.bytes)?;
            self.used = 0;
        }
        let end = self.used + out.len();
        out.copy_from_slice(&self.bytes[self.used..end]);
        self.used = end;
        Ok(())
    }
}

thread_local! {
    static RANDOM: RefCell<RandomBatch> = const { RefCell::new(RandomBatch::EMPTY) };
}

/// Django's `_validate_session_key`: a key is usable when it has at least 8 characters
/// (Python's `len`: code points, not bytes).
pub fn is_valid_session_key(key: &str) -> bool {
    // A character takes at most four bytes, so a key of 32 bytes or more (every key Django or
    // sessionlab makes) is long enough without counting its characters.
    key.len() >= 4 * MIN_KEY_LENGTH || key.chars().nth(MIN_KEY_LENGTH - 1).is_some()
}

/// Whether `key` could name a stored session: valid, at most 40 characters, `[a-z0-9]` only.
/// Stores never look up (or touch a file for) anything else.
pub fn is_storable_session_key(key: &str) -> bool {
    // Every storable character is one byte, so the length in characters is the length in
    // bytes once every byte is checked. The check folds without stopping at the first bad
    // byte, which the compiler turns into a few vector instructions for a 32-byte key (every
    // load and save asks, and `all` took some 450 instructions a key, byte by byte).
    (MIN_KEY_LENGTH..=MAX_STORED_KEY_LENGTH).contains(&key.len())
        && key
            .bytes()
            .fold(true, |all_valid, b| all_valid & is_valid_key_char(b))
}

/// Whether `b` is one of [`VALID_KEY_CHARS`] (two range checks, without branches).
fn is_valid_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() | b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_key_alphabet_is_exactly_djangos() {
        let accepted: Vec<u8> = (0..=u8::MAX).filter(|&b| is_valid_key_char(b)).collect();
        assert_eq!(accepted, {
            let mut sorted = VALID_KEY_CHARS.to_vec();
            sorted.sort_unstable();
            sorted
        });
    }

    #[test]
    fn new_keys_have_djangos_length_and_alphabet() {
        for _ in 0..1000 {
            let key = new_session_key().unwrap();
            assert_eq!(key.len(), 32);
            assert!(key.bytes().all(|b| VALID_KEY_CHARS.contains(&b)), "{key}");
            assert!(is_storable_session_key(&key));
        }
    }

    #[test]
    fn a_batch_hands_out_its_bytes_in_order_once_each_and_fetches_when_short() {
        let mut random = RandomBatch::EMPTY;
        let mut draws = Vec::new();
        // Three batches' worth: 85 draws of 48 bytes fit in 4096, the 86th fetches anew.
        for round in 0..3 * RANDOM_BATCH / KEY_DRAW {
            let mut out = [0u8; KEY_DRAW];
            random.fill(&mut out).unwrap();
            let start = round % (RANDOM_BATCH / KEY_DRAW) * KEY_DRAW;
            assert_eq!(random.used, start + KEY_DRAW, "draw {round}");
            assert_eq!(out, random.bytes[start..start + KEY_DRAW], "draw {round}");
            draws.push(out);
        }
        // A fresh batch after each refill, not the last one's bytes again.
        let distinct: HashSet<[u8; KEY_DRAW]> = draws.iter().copied().collect();
        assert_eq!(distinct.len(), draws.len(), "no 48 bytes handed out twice");
        // A batch is random bytes, not the zeros it starts as.
        assert!(draws.iter().all(|draw| draw.iter().any(|&b| b != 0)));
    }

    #[test]
    fn new_keys_are_unique_and_use_every_character() {
        let keys: HashSet<String> = (0..10_000).map(|_| new_session_key().unwrap()).collect();
        assert_eq!(keys.len(), 10_000);
        let used: HashSet<u8> = keys.iter().flat_map(|k| k.bytes()).collect();
        assert_eq!(used.len(), 36);
    }

    #[test]
    fn every_character_is_equally_likely() {
        // Arrange: 20,000 keys are 640,000 characters, 17,778 of each character on average,
        // give or take about 130 (one standard deviation).
        let keys = 20_000;
        let mut counts = [0u32; 36];

        // Act
        for _ in 0..keys {
            for b in new_session_key().unwrap().bytes() {
                let at = VALID_KEY_CHARS.iter().position(|&c| c == b).unwrap();
                counts[at] += 1;
            }
        }

        // Assert: every count within 5% (nearly 7 deviations) of the mean, as
        // `secrets.choice` draws. A character drawn 8 times in 253 byte values instead of 7
        // in 252 would come out 14% more often than the others.
        let expected = f64::from(keys * KEY_LENGTH as u32) / 36.0;
        for (at, &count) in counts.iter().enumerate() {
            let deviation = (f64::from(count) - expected).abs() / expected;
            assert!(
                deviation < 0.05,
                "{:?} drawn {count} times, expected about {expected:.0}",
                char::from(VALID_KEY_CHARS[at])
            );
        }
    }

    #[test]
    fn validity_follows_django_and_storability_adds_the_alphabet() {
        assert!(!is_valid_session_key(""));
        assert!(!is_valid_session_key("abc"));
        assert!(!is_valid_session_key("abcdefg"));
        assert!(is_valid_session_key("abcdefgh"));
        assert!(is_valid_session_key("../../etc/passwd"));
        // Characters, not bytes: four two-byte characters are four, too few.
        assert!(!is_valid_session_key("éééé"));
        assert!(is_valid_session_key("éééééééé"));
        assert!(!is_storable_session_key("../../etc/passwd"));
        assert!(!is_storable_session_key("ABCDEFGHIJ"));
        assert!(!is_storable_session_key(&"a".repeat(41)));
        assert!(is_storable_session_key(&"a".repeat(40)));
        assert!(!is_storable_session_key("abcdefg"));
        assert!(is_storable_session_key("abcdefg9"));
    }

    /// The definitions as Django's words give them, character by character.
    fn counted_validity(key: &str) -> bool {
        key.chars().count() >= MIN_KEY_LENGTH
    }

    fn counted_storability(key: &str) -> bool {
        let count = key.chars().count();
        (MIN_KEY_LENGTH..=MAX_STORED_KEY_LENGTH).contains(&count)
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }

    #[test]
    fn the_quick_checks_agree_with_counting_characters() {
        let pieces = ["a", "9", "é", "€", "😀", "A", "-", " ", "z", "0", "\u{0}"];
        let mut keys = vec![String::new()];
        // Every key of up to three pieces, then each repeated to lengths around the limits.
        for _ in 0..3 {
            let longer: Vec<String> = keys
                .iter()
                .flat_map(|key| pieces.iter().map(move |piece| format!("{key}{piece}")))
                .collect();
            keys.extend(longer);
        }
        let short = keys.clone();
        for key in &short {
            for times in [2, 3, 4, 7, 8, 9, 13, 14, 20, 40, 41] {
                keys.push(key.repeat(times));
            }
        }
        for key in &keys {
            assert_eq!(is_valid_session_key(key), counted_validity(key), "{key:?}");
            assert_eq!(
                is_storable_session_key(key),
                counted_storability(key),
                "{key:?}"
            );
        }
    }
}
