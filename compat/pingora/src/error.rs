//! Turning a failed load into the `pingora_error::Error` that Pingora's `RTCache` returns.

use std::fmt;

use pingora_error::{Error, ErrorTrait};
use readthrough_core::Arc;

/// What a [`Lookup`](crate::Lookup) or [`MultiLookup`](crate::MultiLookup) fails with.
pub(crate) type LookupError = Box<dyn ErrorTrait + Send + Sync>;

/// Pingora's `ErrorType::Custom` text for a failed lookup; kept identical so that code matching
/// on the error type keeps working.
const LOOKUP_FAILED: &str = "RTCache: lookup error";

/// The cause attached to the error of a lookup whose failure several callers received.
///
/// Pingora re-runs a failed lookup for every waiting caller, so each gets its own error. Here
/// the lookup runs once and every caller that waited for it gets the same error, shared; the
/// cause of their `pingora_error::Error` is then this wrapper around the lookup's error instead
/// of the lookup's error itself. A caller that was alone with its failed lookup gets the
/// lookup's own error as the cause, as with Pingora.
///
/// ```
/// use readthrough_pingora::SharedLookupError;
/// use std::error::Error;
///
/// fn lookup_error(cause: &(dyn Error + 'static)) -> String {
///     match cause.downcast_ref::<SharedLookupError>() {
///         Some(shared) => shared.get().to_string(),
///         None => cause.to_string(),
///     }
/// }
/// # let _ = lookup_error;
/// ```
pub struct SharedLookupError(Arc<LookupError>);

impl SharedLookupError {
    /// The error the lookup returned.
    ///
    /// ```
    /// # use readthrough_pingora::SharedLookupError;
    /// fn reason(shared: &SharedLookupError) -> String {
    ///     shared.get().to_string()
    /// }
    /// # let _ = reason;
    /// ```
    pub fn get(&self) -> &(dyn ErrorTrait + Send + Sync + 'static) {
        &**self.0
    }
}

impl fmt::Debug for SharedLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl fmt::Display for SharedLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self.0, f)
    }
}

impl ErrorTrait for SharedLookupError {
    fn source(&self) -> Option<&(dyn ErrorTrait + 'static)> {
        self.0.source()
    }
}

/// The error `RTCache` returns for a failed load, shaped like Pingora's: type
/// `Custom("RTCache: lookup error")`, the lookup's error as its cause.
pub(crate) fn lookup_failed(error: readthrough_core::Error<LookupError>) -> Box<Error> {
    let mut failure = Error::new_str(LOOKUP_FAILED);
    match error {
        readthrough_core::Error::Load(shared) => match Arc::try_unwrap(shared) {
            Ok(own) => failure.set_cause(own),
            Err(shared) => failure.set_cause(SharedLookupError(shared)),
        },
        other => failure.set_cause(other),
    }
    failure
}
