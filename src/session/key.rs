//! Session keys as Django makes and checks them: 32 characters of `[a-z0-9]` from the operating
//! system's CSPRNG (about 165 bits), and "valid" meaning at least 8 characters long.

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
    let mut buf = [0u8; 48];
    while key.len() < KEY_LENGTH {
        getrandom::fill(&mut buf)?;
        for &b in buf.iter().filter(|&&b| b < ACCEPT_BELOW) {
            if key.len() == KEY_LENGTH {
                break;
            }
            key.push(VALID_KEY_CHARS[usize::from(b % 36)] as char);
        }
    }
    Ok(key)
}

/// Django's `_validate_session_key`: a key is usable when it has at least 8 characters
/// (Python's `len`: code points, not bytes).
pub fn is_valid_session_key(key: &str) -> bool {
    key.chars().nth(MIN_KEY_LENGTH - 1).is_some()
}

/// Whether `key` could name a stored session: valid, at most 40 characters, `[a-z0-9]` only.
/// Stores never look up (or touch a file for) anything else.
pub fn is_storable_session_key(key: &str) -> bool {
    is_valid_session_key(key)
        && key.len() <= MAX_STORED_KEY_LENGTH
        && key.bytes().all(is_valid_key_char)
}

/// Whether `b` is one of [`VALID_KEY_CHARS`] (a range check: every lookup and save asks).
fn is_valid_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
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
    fn new_keys_are_unique_and_use_every_character() {
        let keys: HashSet<String> = (0..10_000).map(|_| new_session_key().unwrap()).collect();
        assert_eq!(keys.len(), 10_000);
        let used: HashSet<u8> = keys.iter().flat_map(|k| k.bytes()).collect();
        assert_eq!(used.len(), 36);
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
    }
}
