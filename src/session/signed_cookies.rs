//! The `signed_cookies` engine: the session data travels in the cookie itself, signed (not
//! encrypted) exactly as Django's `signing.dumps(data, salt="django.contrib.sessions.backends.
//! signed_cookies", compress=True)`, so the browser can read it but not forge it. Unlike
//! Django, the session's own expiry (`set_expiry`) is enforced too, from the signing time.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::expiry::{EXPIRY_KEY, StoredExpiry, floor_seconds};
use super::store::{SessionData, SessionPayload};
use crate::config::Settings;
use crate::signing::{SIGNED_COOKIES_SALT, Signer, SigningError};

/// The largest `name=value` a browser is sure to keep (4096 bytes less the attribute room
/// Django's docs leave).
pub const MAX_COOKIE_BYTES: usize = 4093;

/// Why a signed session cookie was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignedCookieError {
    /// Forged, tampered, malformed or older than `SESSION_COOKIE_AGE`.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// Genuine, but the session's own expiry (`set_expiry`) has passed.
    #[error("the session expired at {0}")]
    Expired(DateTime<Utc>),
    /// Genuine, but not a JSON object.
    #[error("the signed value is not a session (a JSON object)")]
    NotASession,
}

/// Signs and checks session cookies.
#[derive(Clone, Debug)]
pub struct SignedCookies {
    signer: Signer,
}

impl SignedCookies {
    /// Signs with the configured `secret_key` and accepts its fallbacks.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(settings.secret_key.expose(), &settings.fallback_keys())
    }

    /// Signs with `secret_key` and also accepts cookies signed with `fallbacks`.
    pub fn new(secret_key: &str, fallbacks: &[String]) -> Self {
        SignedCookies {
            signer: Signer::new(secret_key, fallbacks, SIGNED_COOKIES_SALT),
        }
    }

    /// Django's `signed_cookies.SessionStore.load()` plus the session's own expiry: the
    /// data of a genuine cookie signed less than `cookie_age` seconds ago whose expiry (counted
    /// from the signing time, as a stored session's is from its last save) is after `now`.
    pub fn load(
        &self,
        cookie_value: &str,
        cookie_age: i64,
        now: DateTime<Utc>,
    ) -> Result<SessionData, SignedCookieError> {
        let (value, signed_at) =
            self.signer
                .unsign_object_timestamped(cookie_value, None, now.timestamp())?;
        let signed_at = Utc
            .timestamp_opt(signed_at, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        // Django's `time.time() - timestamp > max_age`: the current second's fraction counts,
        // so a cookie is refused as soon as it is older than `cookie_age`, not a second later.
        let age = now - signed_at;
        let max_age = TimeDelta::try_seconds(cookie_age).unwrap_or(if cookie_age < 0 {
            TimeDelta::MIN
        } else {
            TimeDelta::MAX
        });
        if age > max_age {
            return Err(SigningError::SignatureExpired {
                age: floor_seconds(age),
                max_age: cookie_age,
            }
            .into());
        }
        let SessionPayload::Session(data) = value else {
            return Err(SignedCookieError::NotASession);
        };
        // Only an expiry of the session's own (`set_expiry` with a date or a non-zero number)
        // limits it further. Without one the session lives as long as its signature, which
        // the check above bounds as Django does: still read at exactly `cookie_age` seconds,
        // where a stored session's `expire_date > now` would already refuse it.
        let expiry = StoredExpiry::from_value(data.get(EXPIRY_KEY));
        let own_expiry = match expiry {
            StoredExpiry::Date(_) => true,
            StoredExpiry::Seconds(age) => !age.is_zero(),
            StoredExpiry::Unset | StoredExpiry::Unreadable => false,
        };
        let expire_date = expiry.date(cookie_age, signed_at);
        if own_expiry && expire_date <= now {
            return Err(SignedCookieError::Expired(expire_date));
        }
        Ok(data)
    }

    /// Django's `_get_session_key()`: the cookie value for `data`, signed at `now`.
    pub fn encode(&self, data: &SessionData, now: DateTime<Utc>) -> String {
        self.signer.sign_object(data, true, now.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use serde_json::json;

    const SECRET: &str = "test-secret-key-for-reference";

    fn at(ts: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(ts, 0).unwrap()
    }

    fn data(v: serde_json::Value) -> SessionData {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn encodes_djangos_reference_cookie() {
        let cookies = SignedCookies::new(SECRET, &[]);
        assert_eq!(
            cookies.encode(&data(json!({"name": "Sonam"})), at(1_700_000_000)),
            "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"
        );
    }

    #[test]
    fn a_genuine_cookie_loads_until_the_cookie_age() {
        let cookies = SignedCookies::new(SECRET, &[]);
        let value = cookies.encode(&data(json!({"name": "Sonam"})), at(1_700_000_000));
        let loaded = cookies.load(&value, 20, at(1_700_000_019)).unwrap();
        assert_eq!(loaded["name"], "Sonam");
        assert!(matches!(
            cookies.load(&value, 20, at(1_700_000_021)),
            Err(SignedCookieError::Signing(
                SigningError::SignatureExpired { .. }
            ))
        ));
    }

    #[test]
    fn a_cookie_older_than_the_cookie_age_by_a_fraction_of_a_second_is_refused() {
        // Arrange: signed at a whole second, with an expiry longer than the cookie age, so
        // only the signature's age can refuse it.
        let cookies = SignedCookies::new(SECRET, &[]);
        let value = cookies.encode(
            &data(json!({"name": "Sonam", "_session_expiry": 600})),
            at(1_700_000_000),
        );

        // Act: read 400 s and 400.5 s later, with a cookie age of 400.
        let in_time = cookies.load(&value, 400, at(1_700_000_400));
        let late = cookies.load(
            &value,
            400,
            at(1_700_000_400) + TimeDelta::milliseconds(500),
        );

        // Assert: as Django's `time.time() - timestamp > max_age`.
        assert_eq!(in_time.unwrap()["name"], "Sonam");
        assert!(
            matches!(
                late,
                Err(SignedCookieError::Signing(SigningError::SignatureExpired {
                    age: 400,
                    max_age: 400
                }))
            ),
            "{late:?}"
        );
    }

    #[test]
    fn a_cookie_age_too_large_for_a_delta_keeps_its_sign() {
        // Django's `time.time() - timestamp > max_age`: no cookie is older than the largest
        // age, and every cookie is older than the most negative one.
        let cookies = SignedCookies::new(SECRET, &[]);
        let value = cookies.encode(&data(json!({"name": "Sonam"})), at(1_700_000_000));
        let ten_years_later = at(1_700_000_000 + 10 * 365 * 86_400);
        let kept = cookies.load(&value, i64::MAX, ten_years_later);
        assert_eq!(kept.unwrap()["name"], "Sonam");
        assert!(matches!(
            cookies.load(&value, i64::MIN, at(1_700_000_000)),
            Err(SignedCookieError::Signing(
                SigningError::SignatureExpired { .. }
            ))
        ));
    }

    #[test]
    fn the_sessions_own_expiry_is_enforced_from_the_signing_time() {
        let cookies = SignedCookies::new(SECRET, &[]);
        let value = cookies.encode(
            &data(json!({"n": 1, "_session_expiry": 600})),
            at(1_700_000_000),
        );
        assert!(cookies.load(&value, 1_209_600, at(1_700_000_599)).is_ok());
        assert!(matches!(
            cookies.load(&value, 1_209_600, at(1_700_000_600)),
            Err(SignedCookieError::Expired(_))
        ));
        let date = (at(1_700_000_000) + TimeDelta::seconds(30)).to_rfc3339();
        let value = cookies.encode(&data(json!({"_session_expiry": date})), at(1_700_000_000));
        assert!(cookies.load(&value, 1_209_600, at(1_700_000_029)).is_ok());
        assert!(cookies.load(&value, 1_209_600, at(1_700_000_031)).is_err());
    }

    #[test]
    fn tampering_and_other_keys_are_rejected_and_fallbacks_accepted() {
        let cookies = SignedCookies::new(SECRET, &[]);
        let value = cookies.encode(&data(json!({"admin": false})), at(1_700_000_000));
        let forged = value.replacen("eyJ", "eyK", 1);
        assert!(cookies.load(&forged, 1_209_600, at(1_700_000_001)).is_err());
        let other = SignedCookies::new("another-secret", &[]);
        assert!(other.load(&value, 1_209_600, at(1_700_000_001)).is_err());
        let rotated = SignedCookies::new("another-secret", &[SECRET.to_owned()]);
        assert!(rotated.load(&value, 1_209_600, at(1_700_000_001)).is_ok());
    }

    #[test]
    fn a_signed_non_object_is_not_a_session() {
        let signer = Signer::new(SECRET, &[], SIGNED_COOKIES_SALT);
        let value = signer.sign_object(&json!([1, 2]), true, 1_700_000_000);
        let cookies = SignedCookies::new(SECRET, &[]);
        assert!(matches!(
            cookies.load(&value, 1_209_600, at(1_700_000_001)),
            Err(SignedCookieError::NotASession)
        ));
    }
}
