//! The instructor's sign-in: the token, compared in a time that tells nothing of it, and the
//! cookie a sign-in sets: a random number, signed with the secret key, the
//! instructor token and a secret of this process, that sign-out ends on the server. A copy of
//! the cookie taken before the sign-out (from a shared computer, a proxy's log) opens nothing
//! after it, on any worker. The numbers signed out are kept in memory until their cookie would
//! have expired anyway, at most [`MAX_SIGNED_OUT`] of them; a restart draws a new process
//! secret, so every sign-in made before it ends too, and no signed-out cookie comes back.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::signing::Signer;

/// How long a sign-in lasts.
pub const SIGN_IN_SECONDS: i64 = 8 * 3600;
/// The signed-out sign-ins remembered at once. A sign-out beyond it ends every sign-in (the
/// process secret is replaced) and starts the list again, so a flood of sign-outs neither
/// grows memory without bound nor brings a signed-out cookie back.
pub const MAX_SIGNED_OUT: usize = 4096;
/// What a sign-in's signed value is: this, then its number in hexadecimal.
const PREFIX: &str = "instructor:";

/// Whether `offered` is the instructor token (`false` when there is none).
pub fn token_matches(settings: &Settings, offered: &str) -> bool {
    settings
        .instructor
        .token
        .as_ref()
        .is_some_and(|token| same_secret(token.expose(), offered))
}

/// Whether `secret` and `offered` are equal, in a time that depends on neither the secret's
/// content nor its length: their SHA-256 digests, always 32 bytes, are compared in constant
/// time. Comparing the strings themselves in constant time answers at once when the lengths
/// differ (`subtle` does), which tells the secret's length to whoever times guesses of each
/// length.
fn same_secret(secret: &str, offered: &str) -> bool {
    let secret = Sha256::digest(secret.as_bytes());
    let offered = Sha256::digest(offered.as_bytes());
    bool::from(secret.as_slice().ct_eq(offered.as_slice()))
}

/// The sign-ins of this process, shared by every worker.
pub struct SignIns {
    state: Mutex<State>,
}

struct State {
    /// Part of the signing key: drawn when the server starts, replaced when the signed-out
    /// list is full.
    process_secret: String,
    /// Each signed-out sign-in's number, and the unix time its cookie expires.
    signed_out: HashMap<u128, i64>,
}

impl SignIns {
    /// No sign-in yet, under a process secret from the operating system's CSPRNG.
    pub fn new() -> Result<SignIns, getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(SignIns {
            state: Mutex::new(State {
                process_secret: hex(&secret),
                signed_out: HashMap::new(),
            }),
        })
    }

    /// A new sign-in's cookie value, signed at `now` (unix seconds); `None` without a token.
    pub fn sign_in(
        &self,
        settings: &Settings,
        now: i64,
    ) -> Result<Option<String>, getrandom::Error> {
        let mut number = [0u8; 16];
        getrandom::fill(&mut number)?;
        let number = u128::from_be_bytes(number);
        let state = self.lock();
        Ok(signer(settings, &state.process_secret)
            .map(|signer| signer.sign(&format!("{PREFIX}{number:032x}"), now)))
    }

    /// Whether `cookie` is a sign-in of this process, not expired at `now` and not signed out.
    pub fn is_signed_in(&self, settings: &Settings, cookie: &str, now: i64) -> bool {
        let state = self.lock();
        state
            .number(settings, cookie, now)
            .is_some_and(|number| !state.signed_out.contains_key(&number))
    }

    /// Ends the sign-in `cookie` holds, if it is one, for every worker; at `now`.
    pub fn sign_out(&self, settings: &Settings, cookie: &str, now: i64) {
        let mut state = self.lock();
        let Some(number) = state.number(settings, cookie, now) else {
            return;
        };
        state.signed_out.retain(|_, expires| *expires >= now);
        if state.signed_out.len() >= MAX_SIGNED_OUT {
            // Derived from the old secret, which no one outside knows: no draw that can fail.
            let next = hex(&Sha256::digest(format!("{}:next", state.process_secret)));
            state.process_secret = next;
            state.signed_out.clear();
            tracing::warn!(
                limit = MAX_SIGNED_OUT,
                "too many instructor sign-outs to remember: every instructor sign-in ended"
            );
            return;
        }
        // The signature is at most SIGN_IN_SECONDS old, so the cookie expires by then.
        state
            .signed_out
            .insert(number, now.saturating_add(SIGN_IN_SECONDS));
    }

    /// How many signed-out sign-ins are remembered.
    #[cfg(test)]
    fn signed_out_count(&self) -> usize {
        self.lock().signed_out.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The number of the sign-in `cookie` holds, when its signature is this process's and it
    /// has not expired at `now`.
    fn number(&self, settings: &Settings, cookie: &str, now: i64) -> Option<u128> {
        let signer = signer(settings, &self.process_secret)?;
        let payload = signer.unsign(cookie, Some(SIGN_IN_SECONDS), now).ok()?;
        let digits = payload.strip_prefix(PREFIX)?;
        u128::from_str_radix(digits, 16).ok()
    }
}

/// Bound to the secret key, the token and the process secret: replacing any of them ends
/// every sign-in.
fn signer(settings: &Settings, process_secret: &str) -> Option<Signer> {
    let token = settings.instructor.token.as_ref()?;
    let key = format!(
        "{}{}{process_secret}",
        settings.secret_key.expose(),
        token.expose()
    );
    Some(Signer::new(&key, &[], "sessionlab.instructor"))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;

    const NOW: i64 = 1_800_000_000;

    fn settings() -> Settings {
        load(
            "default",
            &[
                ("APP__INSTRUCTOR__ENABLED", "true"),
                ("APP__INSTRUCTOR__TOKEN", "instructor-token-for-tests-0123"),
            ],
        )
        .unwrap()
    }

    fn signed_in(sign_ins: &SignIns, settings: &Settings) -> String {
        sign_ins.sign_in(settings, NOW).unwrap().unwrap()
    }

    #[test]
    fn only_the_token_itself_matches() {
        // Arrange
        let settings = settings();
        let token = settings
            .instructor
            .token
            .as_ref()
            .unwrap()
            .expose()
            .to_owned();

        // Act and Assert: shorter, longer, a prefix, a case, empty, not ASCII.
        assert!(token_matches(&settings, &token));
        for wrong in [
            String::new(),
            token[..token.len() - 1].to_owned(),
            format!("{token}x"),
            format!("{token}{token}"),
            token.to_ascii_uppercase(),
            token.replace('0', "\u{2070}"),
            "x".repeat(10_000),
        ] {
            assert!(!token_matches(&settings, &wrong), "{wrong:?}");
        }
        let mut no_token = settings;
        no_token.instructor.token = None;
        assert!(!token_matches(&no_token, &token));
    }

    #[test]
    fn secrets_of_any_length_are_compared_by_content() {
        assert!(same_secret("", ""));
        assert!(same_secret("a", "a"));
        assert!(!same_secret("a", ""));
        assert!(!same_secret("", "a"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcabc"));
    }

    #[test]
    fn a_sign_out_ends_that_sign_in_and_no_other() {
        // Arrange: two sign-ins (two browsers), and a copy of the first's cookie.
        let (sign_ins, settings) = (SignIns::new().unwrap(), settings());
        let first = signed_in(&sign_ins, &settings);
        let second = signed_in(&sign_ins, &settings);
        assert_ne!(first, second);

        // Act
        sign_ins.sign_out(&settings, &first, NOW + 60);

        // Assert
        assert!(!sign_ins.is_signed_in(&settings, &first, NOW + 61));
        assert!(sign_ins.is_signed_in(&settings, &second, NOW + 61));
    }

    #[test]
    fn another_process_knows_no_sign_in_of_this_one() {
        let settings = settings();
        let before_restart = signed_in(&SignIns::new().unwrap(), &settings);
        assert!(
            !SignIns::new()
                .unwrap()
                .is_signed_in(&settings, &before_restart, NOW)
        );
    }

    #[test]
    fn a_sign_in_lasts_eight_hours_to_the_second() {
        // Arrange: the length in seconds, written out, not read from the constant it checks.
        let (sign_ins, settings) = (SignIns::new().unwrap(), settings());
        let cookie = signed_in(&sign_ins, &settings);

        // Act
        let at_the_end = sign_ins.is_signed_in(&settings, &cookie, NOW + 28_800);
        let after_it = sign_ins.is_signed_in(&settings, &cookie, NOW + 28_801);

        // Assert
        assert!(at_the_end);
        assert!(!after_it);
    }

    #[test]
    fn a_sign_in_ends_after_eight_hours_and_is_then_forgotten() {
        // Arrange
        let (sign_ins, settings) = (SignIns::new().unwrap(), settings());
        let old = signed_in(&sign_ins, &settings);
        assert!(sign_ins.is_signed_in(&settings, &old, NOW + SIGN_IN_SECONDS));
        assert!(!sign_ins.is_signed_in(&settings, &old, NOW + SIGN_IN_SECONDS + 1));
        sign_ins.sign_out(&settings, &old, NOW + 10);
        assert_eq!(sign_ins.signed_out_count(), 1);

        // Act: a sign-out once the first one's cookie has expired.
        let later = NOW + 10 + SIGN_IN_SECONDS + 1;
        let new = sign_ins.sign_in(&settings, later).unwrap().unwrap();
        sign_ins.sign_out(&settings, &new, later);

        // Assert: only the new one is remembered.
        assert_eq!(sign_ins.signed_out_count(), 1);
    }

    #[test]
    fn what_is_not_a_sign_in_is_not_signed_in_and_not_remembered() {
        let (sign_ins, settings) = (SignIns::new().unwrap(), settings());
        let cookie = signed_in(&sign_ins, &settings);
        let (value, signature) = cookie.rsplit_once(':').unwrap();
        let stateless = Signer::new(
            &format!(
                "{}{}",
                settings.secret_key.expose(),
                settings.instructor.token.as_ref().unwrap().expose()
            ),
            &[],
            "sessionlab.instructor",
        )
        .sign("instructor", NOW);
        for bad in [
            String::new(),
            "instructor".to_owned(),
            format!("{value}0:{signature}"),
            stateless,
        ] {
            assert!(!sign_ins.is_signed_in(&settings, &bad, NOW), "{bad}");
            sign_ins.sign_out(&settings, &bad, NOW);
        }
        assert_eq!(sign_ins.signed_out_count(), 0);
        assert!(sign_ins.is_signed_in(&settings, &cookie, NOW));
    }

    #[test]
    fn a_flood_of_sign_outs_is_bounded_and_brings_no_sign_in_back() {
        // Arrange: as many signed-out sign-ins as are remembered, and one still signed in.
        let (sign_ins, settings) = (SignIns::new().unwrap(), settings());
        let signed_out: Vec<String> = (0..MAX_SIGNED_OUT)
            .map(|_| signed_in(&sign_ins, &settings))
            .collect();
        for cookie in &signed_out {
            sign_ins.sign_out(&settings, cookie, NOW);
        }
        let still_in = signed_in(&sign_ins, &settings);
        assert_eq!(sign_ins.signed_out_count(), MAX_SIGNED_OUT);

        // Act: one sign-out more.
        let one_more = signed_in(&sign_ins, &settings);
        sign_ins.sign_out(&settings, &one_more, NOW);

        // Assert: the list starts again, and every earlier sign-in has ended with it.
        assert_eq!(sign_ins.signed_out_count(), 0);
        for cookie in signed_out.iter().chain([&still_in, &one_more]) {
            assert!(!sign_ins.is_signed_in(&settings, cookie, NOW));
        }
        let after = signed_in(&sign_ins, &settings);
        assert!(sign_ins.is_signed_in(&settings, &after, NOW));
    }
}
