//! Events a service can see in its logs: `tracing` events with target `readthrough` when the
//! `tracing` feature is on, nothing at all when it is off (the macro expands to nothing, so
//! not even its arguments are evaluated).

/// `event!(level, "message", field = value, ..)`: one `tracing` event at `level` (`warn`,
/// `info`, `debug`) when the feature is on.
macro_rules! event {
    ($level:ident, $message:literal $(, $field:ident = $value:expr)* $(,)?) => {
        #[cfg(all(feature = "tracing", target_has_atomic = "ptr"))]
        tracing::$level!(target: "readthrough", $($field = $value,)* $message);
    };
}

pub(crate) use event;

/// A duration as whole milliseconds, for an event field.
#[cfg(all(feature = "tracing", target_has_atomic = "ptr"))]
pub(crate) fn millis(duration: core::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
