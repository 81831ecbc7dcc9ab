//! `ActorError`: what a caller of any actor in this chapter can get back instead of an answer
//! (helper module, used from `responding-actor` on).
//!
//! The book `unwrap`s every `send` and every reply and says channel failures mean "bigger
//! problems". They do happen, though, and in ordinary operation: an actor that is being reset
//! drops the requests in its channel, and a stopped system closes its channels. A caller should get
//! a value it can match on, so each request ends in one of three ways besides success:
//!
//! - [`ActorError::Closed`]: the request was never delivered (the actor's channel is closed);
//!   nothing happened;
//! - [`ActorError::NoReply`]: the request was delivered, but the actor stopped before answering
//!   (it dropped the reply sender): the change may or may not have happened;
//! - [`ActorError::Persist`]: the store actor could not make a change durable, so it did not make
//!   it at all (its memory still equals its file). Only stores that persist send it.

use std::fmt;
use std::io;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

/// Why a request to an actor got no answer. See the module docs.
#[derive(Debug, Clone)]
pub enum ActorError {
    /// The actor's channel is closed: the request was not delivered, nothing changed.
    Closed,
    /// The actor stopped after taking the request and before answering: the change may or may not
    /// have happened.
    NoReply,
    /// The change could not be made durable and was not applied. The `io::Error` sits in an `Arc`
    /// so one failed write can be reported to every caller that was waiting on it.
    Persist(Arc<io::Error>),
}

impl ActorError {
    /// Wraps an I/O error from persisting a change.
    pub fn persist(error: io::Error) -> Self {
        ActorError::Persist(Arc::new(error))
    }
}

/// Two errors are equal when they are the same variant; two `Persist` errors also need the same
/// `io::ErrorKind` and message (`io::Error` itself has no `PartialEq`).
impl PartialEq for ActorError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ActorError::Closed, ActorError::Closed) => true,
            (ActorError::NoReply, ActorError::NoReply) => true,
            (ActorError::Persist(a), ActorError::Persist(b)) => {
                a.kind() == b.kind() && a.to_string() == b.to_string()
            }
            _ => false,
        }
    }
}

impl Eq for ActorError {}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActorError::Closed => f.write_str("the actor has stopped: request not delivered"),
            ActorError::NoReply => f.write_str(
                "the actor stopped before answering: the request may or may not have been applied",
            ),
            ActorError::Persist(e) => {
                write!(f, "the change could not be saved ({e}) and was not applied")
            }
        }
    }
}

impl std::error::Error for ActorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ActorError::Persist(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// A failed `send` means the receiver is gone: the request was not delivered.
impl<T> From<mpsc::error::SendError<T>> for ActorError {
    fn from(_: mpsc::error::SendError<T>) -> Self {
        ActorError::Closed
    }
}

/// A reply channel that closes without a value means the actor dropped the request unanswered.
impl From<oneshot::error::RecvError> for ActorError {
    fn from(_: oneshot::error::RecvError) -> Self {
        ActorError::NoReply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channel_failures_map_to_closed_and_no_reply() {
        let (tx, rx) = mpsc::channel::<u8>(1);
        drop(rx);
        let err: ActorError = tx.send(1).await.unwrap_err().into();
        assert_eq!(err, ActorError::Closed);

        let (reply_tx, reply_rx) = oneshot::channel::<u8>();
        drop(reply_tx);
        let err: ActorError = reply_rx.await.unwrap_err().into();
        assert_eq!(err, ActorError::NoReply);
    }

    #[test]
    fn persist_errors_compare_by_kind_and_message_and_keep_their_source() {
        let a = ActorError::persist(io::Error::other("disk full"));
        assert_eq!(a, ActorError::persist(io::Error::other("disk full")));
        assert_ne!(a, ActorError::persist(io::Error::other("other")));
        assert_ne!(a, ActorError::NoReply);
        assert!(a.to_string().contains("disk full"), "{a}");
        assert!(std::error::Error::source(&a).is_some());
    }
}
