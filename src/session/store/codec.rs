//! `session_data` as Django writes it: `signing.dumps(data, salt="django.contrib.sessions.
//! SessionStore", compress=True)`, so a Django app with the same `SECRET_KEY` reads our rows
//! and we read its rows.

use chrono::{DateTime, Utc};

use super::{SessionData, SessionPayload};
use crate::config::Settings;
use crate::signing::{SESSION_SALT, Signer};

/// Encodes and decodes stored session data.
#[derive(Clone)]
pub struct SessionCodec {
    signer: Signer,
}

impl SessionCodec {
    /// A codec signing with the configured `secret_key` and accepting its fallbacks.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(settings.secret_key.expose(), &settings.fallback_keys())
    }

    /// A codec signing with `secret_key` and also accepting data signed with `fallbacks`.
    pub fn new(secret_key: &str, fallbacks: &[String]) -> Self {
        SessionCodec {
            signer: Signer::new(secret_key, fallbacks, SESSION_SALT),
        }
    }

    /// Django's `SessionBase.encode()`, timestamped `now`.
    pub fn encode(&self, data: &SessionData, now: DateTime<Utc>) -> String {
        self.signer.sign_object(data, true, now.timestamp())
    }

    /// Django's `SessionBase.decode()`: anything that is not a signed JSON object of ours
    /// reads as an empty session, with a warning in the log (never an error page).
    pub fn decode(&self, session_data: &str, now: DateTime<Utc>) -> SessionData {
        match self
            .signer
            .unsign_object_as(session_data, None, now.timestamp())
        {
            Ok(SessionPayload::Session(data)) => data,
            Ok(SessionPayload::NotAnObject(kind)) => {
                tracing::warn!(
                    target: "sessionlab::security",
                    kind,
                    "Session data corrupted: not a JSON object; reading it as an empty session"
                );
                SessionData::default()
            }
            Err(error) => {
                tracing::warn!(
                    target: "sessionlab::security",
                    %error,
                    "Session data corrupted; reading it as an empty session"
                );
                SessionData::default()
            }
        }
    }
}
