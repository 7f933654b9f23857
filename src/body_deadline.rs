//! A deadline for request bodies. actix-web gives a client 5 s to send a request head
//! (`client_request_timeout`) but no limit for its body: a client that announces a body and
//! then sends it a byte at a time, or not at all, holds its connection (and a file descriptor)
//! for as long as a view waits for the body, and enough such clients leave none for the
//! students. Here a body that has not arrived whole within [`BODY_TIMEOUT`](crate::body_deadline::BODY_TIMEOUT) of its head ends
//! the view's reading with an error, the answer is a 408, and actix-web closes the connection
//! (the body was not read to its end). Requests without a body, and views that never read
//! theirs (the lessons' views answer a POST without reading it), are left as they are.

use std::cell::Cell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::PayloadError;
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage};
use futures_util::Stream;
use futures_util::future::{Either, LocalBoxFuture};

use crate::error::AppError;

/// How long a request body may take to arrive, counted from the end of its head. The largest
/// body a view reads is a 16 KiB playground form: 10 s is 1.6 KB/s, slower than any classroom
/// network.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts [`BODY_TIMEOUT`] on the body of every request that announces one. Wrap it inside the
/// error handlers, so that its 408 is rendered as the other error pages are, and directly
/// around the app's routes, whose answers carry a boxed body: its own answer has one too, so
/// the routes' answers pass through as they are, with no body type to convert.
pub struct BodyDeadline;

impl<S> Transform<S, ServiceRequest> for BodyDeadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
    S::Future: 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = BodyDeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyDeadlineService { service }))
    }
}

/// The wrapped service of [`BodyDeadline`].
pub struct BodyDeadlineService<S> {
    service: S,
}

impl<S> Service<ServiceRequest> for BodyDeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
    S::Future: 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future =
        Either<S::Future, LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, Error>>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        // Nearly every request (a GET) has no body: actix-http hands it no payload stream
        // (its head announced none), and there is nothing to watch.
        if matches!(req.parts_mut().1, Payload::None) {
            return Either::Left(self.service.call(req));
        }
        let expired = Rc::new(Cell::new(false));
        let body = Deadline {
            body: req.take_payload(),
            timer: Box::pin(sleep(BODY_TIMEOUT)),
            expired: Rc::clone(&expired),
        };
        req.set_payload(Payload::from(
            Box::pin(body) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
        ));
        let answer = self.service.call(req);
        Either::Right(Box::pin(async move {
            let res = answer.await?;
            if !expired.get() {
                return Ok(res);
            }
            // Whatever the view made of the cut-off body (a 400 about an unreadable form),
            // the client is told what happened.
            let (request, _) = res.into_parts();
            Ok(ServiceResponse::from_err(
                AppError::BodyTimeout(BODY_TIMEOUT),
                request,
            ))
        }))
    }
}

/// A request body that fails with a timeout once its deadline passes.
struct Deadline {
    body: Payload,
    timer: Pin<Box<Sleep>>,
    /// Set when the deadline cut the body off.
    expired: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.expired.get() {
            return Poll::Ready(None);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.expired.set(true);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, web};
    use futures_util::StreamExt;
    use futures_util::stream;

    /// A body that gives `chunks` and then waits forever, behind a deadline that has passed.
    fn past_its_deadline(chunks: Vec<&'static str>) -> (Deadline, Rc<Cell<bool>>) {
        let chunks = stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok(Bytes::from_static(c.as_bytes()))),
        )
        .chain(stream::pending());
        let expired = Rc::new(Cell::new(false));
        let body = Deadline {
            body: Payload::from(
                Box::pin(chunks) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
            ),
            timer: Box::pin(sleep(Duration::ZERO)),
            expired: Rc::clone(&expired),
        };
        (body, expired)
    }

    #[actix_web::test]
    async fn a_body_is_passed_on_and_then_cut_off_at_its_deadline() {
        // Arrange
        let (mut body, expired) = past_its_deadline(vec!["a=1", "&b=2"]);

        // Act
        let first = body.next().await;
        let second = body.next().await;
        let cut_off = body.next().await;
        let after = body.next().await;

        // Assert: what arrived is read, whatever the deadline; then one timeout, then the end.
        assert_eq!(first.unwrap().unwrap(), "a=1");
        assert_eq!(second.unwrap().unwrap(), "&b=2");
        let error = cut_off.unwrap().unwrap_err().to_string();
        assert!(error.contains("did not arrive within 10 s"), "{error}");
        assert!(expired.get());
        assert!(after.is_none());
    }

    #[actix_web::test]
    async fn a_body_that_arrives_in_time_is_answered_by_the_view() {
        // Arrange: a view that reads its body.
        let app = init_service(
            App::new()
                .wrap(BodyDeadline)
                .route("/", web::post().to(|body: String| async move { body })),
        )
        .await;
        let request = TestRequest::post()
            .uri("/")
            .set_payload("key=age&value=26")
            .to_request();

        // Act
        let res = call_service(&app, request).await;

        // Assert
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(read_body(res).await, "key=age&value=26");
    }
}
