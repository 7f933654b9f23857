//! One error type for the whole app: what the visitor sees (status and a short message) is
//! kept apart from the cause, which goes to the log in full.

use actix_web::body::BoxBody;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::methods::Methods;
use crate::session::{SessionError, StoreError};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No page at this address.
    #[error("There is no page at this address.")]
    NotFound,
    /// The request was refused (a failed CSRF check); the text says why.
    #[error("{0}")]
    Forbidden(String),
    /// The input breaks a rule (a limit, a format); the text names the rule.
    #[error("{0}")]
    BadInput(String),
    /// The address does not answer this method; `allow` is what it answers (its `Allow`
    /// header), the message says what to do instead.
    #[error("{message}")]
    MethodNotAllowed {
        /// The methods the address answers.
        allow: Methods,
        /// What the visitor is told.
        message: String,
    },
    /// The session store failed; the session could not be read or saved. The page names the
    /// store and the kind of failure; the full cause goes to the log.
    #[error(
        "The session store is unavailable, so your session could not be read or saved. Store: {}. Cause: {}. Please try again in a moment.",
        .0.engine,
        .0.cause_for_visitor()
    )]
    SessionStore(#[source] StoreError),
    /// Django's `SessionInterrupted`: the session was deleted while this request saved it.
    #[error(
        "The request's session was deleted before the request finished. This typically occurs when you log out (or flush the session) in another tab while this request runs."
    )]
    SessionInterrupted,
    /// A page that needs the instructor token.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many failed sign-ins from one address.
    #[error("Too many failed attempts. Wait a minute before trying again.")]
    TooManyAttempts,
    /// The request's body did not arrive whole within the deadline
    /// ([`BODY_TIMEOUT`](crate::body_deadline::BODY_TIMEOUT)).
    #[error(
        "The request's body did not arrive within {} seconds, so the server stopped waiting for it. Send the form again.",
        .0.as_secs()
    )]
    BodyTimeout(std::time::Duration),
    /// The session does not fit in a signed cookie (a 400: the request put too much in it).
    #[error("The session could not be saved: {0}.")]
    SessionTooLarge(String),
    /// A handler asked for a session outside a session-enabled scope.
    #[error("This page has no session configured.")]
    NoSessionMiddleware,
    /// A page could not be rendered.
    #[error("The page could not be rendered.")]
    Template(#[source] tera::Error),
    /// Anything else.
    #[error("Something went wrong on the server.")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::SessionStore(e)
    }
}

impl From<SessionError> for AppError {
    /// A failed save, as Django's middleware reports it.
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Interrupted => AppError::SessionInterrupted,
            SessionError::Store(e) => AppError::SessionStore(e),
            SessionError::Random(e) => AppError::Internal(anyhow::anyhow!(e)),
            e @ SessionError::CookieTooLarge { .. } => AppError::SessionTooLarge(e.to_string()),
            SessionError::TooLarge(message) => AppError::SessionTooLarge(message),
        }
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> Self {
        AppError::Template(e)
    }
}

impl AppError {
    /// A short title for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::NotFound => "Page not found",
            AppError::Unauthorized(_) => "Sign-in required",
            AppError::TooManyAttempts => "Too many attempts",
            AppError::Forbidden(_) => "Forbidden",
            AppError::BadInput(_) => "Bad request",
            AppError::BodyTimeout(_) => "Request timeout",
            AppError::MethodNotAllowed { .. } => "Method not allowed",
            AppError::SessionStore(_) => "Session store unavailable",
            AppError::SessionInterrupted => "Session interrupted",
            AppError::SessionTooLarge(_) => "Session too large",
            AppError::NoSessionMiddleware | AppError::Template(_) | AppError::Internal(_) => {
                "Server error"
            }
        }
    }

    /// What went wrong, for the log: the chain of causes beneath the error when it has any
    /// (the sentence the visitor reads on the page would only repeat its title there), else the
    /// error's own message.
    pub fn cause_chain(&self) -> String {
        match std::error::Error::source(self) {
            Some(cause) => chain_text(cause),
            None => self.to_string(),
        }
    }
}

/// `error`'s message followed by each of its causes, each told once: a cause whose text is
/// already there is left out, as when a layer writes its source into its own message
/// (deadpool's and redis's errors do, and [`StoreError`] does), where walking `source()` or
/// anyhow's `{:#}` would repeat it.
pub fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let told = cause.to_string();
        if !text.contains(&told) {
            text.push_str(": ");
            text.push_str(&told);
        }
        source = cause.source();
    }
    text
}

/// The `WWW-Authenticate` challenge of every 401: the instructor's pages take the token as
/// `Authorization: Bearer <token>` (RFC 6750) besides the sign-in form, and HTTP requires a
/// 401 to name a scheme it takes (RFC 9110, 15.5.2). Browsers show no prompt of their own for
/// `Bearer`, so the sign-in page is what a browser shows.
pub const INSTRUCTOR_CHALLENGE: &str = "Bearer realm=\"sessionlab instructor\"";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadInput(_) => StatusCode::BAD_REQUEST,
            AppError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::SessionStore(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::SessionInterrupted => StatusCode::BAD_REQUEST,
            // Only what a request put in the session makes it too large (the playground allows
            // 50 values of 4 KiB; no lesson comes near): the client's to fix, so a 4xx.
            AppError::SessionTooLarge(_) => StatusCode::BAD_REQUEST,
            AppError::NoSessionMiddleware | AppError::Template(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A plain-text answer; the app's error handler turns it into a page or JSON.
    fn error_response(&self) -> HttpResponse<BoxBody> {
        match self.status_code() {
            // The store's failure was logged where it arose, once and not per request
            // (`session::store::outages`); the access log has each request's 503.
            status @ StatusCode::SERVICE_UNAVAILABLE
                if matches!(self, AppError::SessionStore(_)) =>
            {
                tracing::debug!(status = status.as_u16(), error = self.title(), cause = %self.cause_chain(), "request failed");
            }
            status if status.is_server_error() => {
                tracing::error!(status = status.as_u16(), error = self.title(), cause = %self.cause_chain(), "request failed");
            }
            status => tracing::info!(status = status.as_u16(), "{self}"),
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            AppError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, allow.allow()));
            }
            AppError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, INSTRUCTOR_CHALLENGE));
            }
            _ => {}
        }
        response
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that writes its source into its own message and returns it from `source()`
    /// too, as deadpool's pool errors and redis's errors do.
    #[derive(Debug, thiserror::Error)]
    #[error("error occurred while creating a new object: {0}")]
    struct Telling(#[source] std::io::Error);

    #[test]
    fn each_cause_is_told_once_on_the_page_and_in_the_log() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let cause = anyhow::Error::new(Telling(refused)).context("cannot reach 127.0.0.1:1");
        let store = StoreError::new("cache (Redis)", cause);

        let shown = store.to_string();
        let logged = AppError::SessionStore(store).cause_chain();

        assert_eq!(
            shown,
            "the session store (cache (Redis)) is unavailable: cannot reach 127.0.0.1:1: error occurred while creating a new object: connection refused"
        );
        assert_eq!(logged, shown, "the cause, without the visitor's sentence");
        assert_eq!(logged.matches("connection refused").count(), 1, "{logged}");
    }

    #[test]
    fn causes_that_say_something_new_are_all_told() {
        let inner = std::io::Error::other("disk full");
        let error = anyhow::Error::new(inner)
            .context("cannot write the session file")
            .context("cannot save the session");

        assert_eq!(
            chain_text(error.as_ref()),
            "cannot save the session: cannot write the session file: disk full"
        );
    }
}
