//! How a led load ended for its leader: its own load landed, or (in front of a shared tier)
//! another node's value did.
//!
//! The leader's part itself is not behind a trait: an `async fn` in a trait, called through a
//! generic, makes the caller's future fail `Send` checks for an error type with a lifetime in
//! it (`Box<dyn Error + Send + Sync>`, a known compiler limitation). The plain cache and
//! `Tiered` each run their leader's part in an inherent `async fn` and share the decisions
//! around it (`Cache::take_turn`, `Cache::revalidation`, `revalidate::refreshed`).

use crate::load_guard::Served;
use crate::status::{Answer, Status};

/// How a led load ended for its leader.
pub(crate) enum Led<V> {
    /// The loader ran and its outcome landed (a value, or fail-safe's fallback).
    Landed(Served<V>),
    /// No load ran: the shared tier had the value (another node loaded it), which landed here
    /// and answers with this status ([`Status::TierHit`] or [`Status::TierLockHit`]).
    Shared(V, Status),
}

impl<V> Led<V> {
    /// The leader's answer: `status` for its own load.
    pub(crate) fn answer(self, status: Status) -> Answer<V> {
        match self {
            Led::Landed(served) => served.answer(status),
            Led::Shared(value, shared) => Answer::new(value, shared),
        }
    }
}
