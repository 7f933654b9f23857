//! Hands the writer's answers to the requests waiting on one actix-rt worker thread, with one
//! wake-up of that thread per batch instead of one per answer.
//!
//! A request waits for its write on a oneshot channel. Answered from the writer thread, every
//! answer woke its worker's runtime from outside, and tokio does that with a `write` to the
//! runtime's eventfd, whether or not the worker is asleep: under `wrk -c32` that is one system
//! call per new session on the writer thread, the busiest thread of the db engine. Here each
//! worker thread has an inbox and a task of its own on that thread: the writer posts a
//! batch's answers to the inboxes they belong to and wakes each inbox's task once; the task
//! hands them out from inside the runtime, where waking the waiting request costs nothing.
//!
//! A thread that runs no actix-rt runtime (a blocking-pool thread, a plain tokio runtime)
//! has no inbox, and its requests are answered directly, as before.

use std::cell::RefCell;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::sync::oneshot;

use super::writer::Outcome;

/// Where a write's outcome goes.
pub(super) type Reply = oneshot::Sender<Outcome>;

/// The answers for the requests of one worker thread, and the task there that hands them out.
#[derive(Default)]
pub(super) struct Inbox {
    answers: Mutex<Vec<(Reply, Outcome)>>,
    /// Set, under the `answers` lock, when the delivering task is gone (its runtime stopped):
    /// nothing is posted any more. Read without the lock only to pick this thread's inbox.
    closed: AtomicBool,
    /// The delivering task's waker.
    deliverer: AtomicWaker,
}

thread_local! {
    static THIS_THREADS: RefCell<Option<Arc<Inbox>>> = const { RefCell::new(None) };
}

impl Inbox {
    /// The inbox of this thread, its delivering task started on first use; `None` on a thread
    /// that is not running an actix-rt runtime, where a task of ours could not be started.
    pub(super) fn of_this_thread() -> Option<Arc<Inbox>> {
        THIS_THREADS.with_borrow_mut(|slot| {
            if let Some(inbox) = slot.as_ref().filter(|inbox| !inbox.is_closed()) {
                return Some(Arc::clone(inbox));
            }
            let in_actix_runtime = actix_rt::Arbiter::try_current().is_some()
                && tokio::runtime::Handle::try_current().is_ok();
            if !in_actix_runtime {
                return None;
            }
            let inbox = Arc::new(Inbox::default());
            actix_web::rt::spawn(deliver(CloseOnDrop(Arc::clone(&inbox))));
            *slot = Some(Arc::clone(&inbox));
            Some(inbox)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(Reply, Outcome)>> {
        // A panic while the lock was held left a whole `Vec`, so the poison is of no matter.
        self.answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Queues `outcome` for `reply`, to be handed out once [`Inbox::wake`] is called; when the
    /// inbox is closed, it is given back, for the caller to answer directly.
    fn post(&self, reply: Reply, outcome: Outcome) -> Result<(), (Reply, Outcome)> {
        let mut answers = self.lock();
        if self.is_closed() {
            return Err((reply, outcome));
        }
        answers.push((reply, outcome));
        Ok(())
    }

    /// Wakes the delivering task to hand out what was posted.
    fn wake(&self) {
        self.deliverer.wake();
    }

    /// Hands out everything posted so far.
    fn hand_out(&self) {
        let answers = std::mem::take(&mut *self.lock());
        for (reply, outcome) in answers {
            send(reply, outcome);
        }
    }

    /// Refuses further posts and hands out what was posted: the delivering task is going.
    fn close(&self) {
        let answers = self.lock();
        self.closed.store(true, Ordering::Relaxed);
        drop(answers);
        self.hand_out();
    }
}

/// Sends each outcome to its request: posted to the inbox of the request's thread, each inbox
/// woken once when the batch's outcomes are all posted, or sent directly where there is none
/// (or its inbox is closed).
pub(super) fn answer(waiting: Vec<(Reply, Option<Arc<Inbox>>)>, outcomes: Vec<Outcome>) {
    let mut to_wake: Vec<Arc<Inbox>> = Vec::new();
    for ((reply, thread_inbox), outcome) in waiting.into_iter().zip(outcomes) {
        let Some(thread_inbox) = thread_inbox else {
            send(reply, outcome);
            continue;
        };
        if let Err((reply, outcome)) = thread_inbox.post(reply, outcome) {
            send(reply, outcome);
        } else if !to_wake
            .iter()
            .any(|known| Arc::ptr_eq(known, &thread_inbox))
        {
            to_wake.push(thread_inbox);
        }
    }
    for inbox in to_wake {
        inbox.wake();
    }
}

/// Answers a request directly.
fn send(reply: Reply, outcome: Outcome) {
    // A request that gave up waiting dropped its receiver; nothing to do for it.
    let _ = reply.send(outcome);
}

/// An inbox that is closed when this is dropped: with its delivering task, polled or not.
struct CloseOnDrop(Arc<Inbox>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The delivering task: hands out the inbox's answers each time it is woken, until its
/// runtime drops it.
async fn deliver(inbox: CloseOnDrop) {
    poll_fn(|cx| {
        // Registered before the answers are taken: an answer posted after this point wakes
        // the task again, so none is left behind.
        inbox.0.deliverer.register(cx.waker());
        inbox.0.hand_out();
        Poll::<()>::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn answers_posted_then_woken_once_all_reach_their_requests() {
        let inbox = Inbox::of_this_thread().expect("an actix-rt runtime runs this test");
        let again = Inbox::of_this_thread().unwrap();
        assert!(Arc::ptr_eq(&inbox, &again), "one inbox per thread");
        let (replies, answers): (Vec<_>, Vec<_>) = (0..5).map(|_| oneshot::channel()).unzip();
        for (n, reply) in replies.into_iter().enumerate() {
            inbox.post(reply, Ok(n)).map_err(|_| "closed").unwrap();
        }
        inbox.wake();
        for (n, answer) in answers.into_iter().enumerate() {
            assert!(matches!(answer.await, Ok(Ok(rows)) if rows == n));
        }
    }

    #[actix_web::test]
    async fn answers_posted_from_another_thread_arrive() {
        let inbox = Inbox::of_this_thread().unwrap();
        let (reply, answer) = oneshot::channel();
        let posting = Arc::clone(&inbox);
        std::thread::spawn(move || {
            posting.post(reply, Ok(7)).map_err(|_| "closed").unwrap();
            posting.wake();
        })
        .join()
        .unwrap();
        assert!(matches!(answer.await, Ok(Ok(7))));
    }

    #[test]
    fn a_thread_without_an_actix_runtime_has_no_inbox() {
        assert!(Inbox::of_this_thread().is_none());
        let tokio_only = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        tokio_only.block_on(async { assert!(Inbox::of_this_thread().is_none()) });
    }

    #[test]
    fn a_stopped_runtime_closes_its_inbox_and_the_next_one_gets_a_new_inbox() {
        // Its delivering task never even ran.
        let first = actix_web::rt::System::new().block_on(async { Inbox::of_this_thread() });
        let first = first.unwrap();
        let (reply, answer_given_back) = oneshot::channel();
        let given_back = first.post(reply, Ok(1));
        let (reply, outcome) = given_back.expect_err("a closed inbox takes no answers");
        reply.send(outcome).unwrap();
        assert!(matches!(answer_given_back.blocking_recv(), Ok(Ok(1))));
        // The writer answers a request whose inbox is closed directly.
        let (reply, answered) = oneshot::channel();
        answer(vec![(reply, Some(Arc::clone(&first)))], vec![Ok(3)]);
        assert!(matches!(answered.blocking_recv(), Ok(Ok(3))));

        let second = actix_web::rt::System::new().block_on(async {
            let inbox = Inbox::of_this_thread().unwrap();
            let (reply, answer) = oneshot::channel();
            inbox.post(reply, Ok(2)).map_err(|_| "closed").unwrap();
            inbox.wake();
            assert!(matches!(answer.await, Ok(Ok(2))));
            inbox
        });
        assert!(!Arc::ptr_eq(&first, &second));
    }
}
