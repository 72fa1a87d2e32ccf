//! Events a service or a firmware can see in its logs: `tracing` events with target
//! `readthrough` when the `tracing` feature is on, `defmt` frames (`readthrough: <message>`) when
//! the `defmt` feature is on and the target is bare metal, nothing at all otherwise (the macro
//! expands to nothing, so not even its arguments are evaluated).
//!
//! defmt is emitted only where `target_os = "none"`: a host binary that links defmt needs a
//! global logger, and the host's tests run with every feature on (`--all-features`), so on a
//! host the `defmt` feature is inert and the dependency is not even built.

/// `event!(level, "message", field = value, ..)`: one `tracing` event at `level` (`warn`,
/// `info`, `debug`) when that feature is on, and one `defmt` frame at the same level when that
/// one is (at most one field: a defmt format string is a literal, which a macro cannot
/// assemble from the field's name).
macro_rules! event {
    ($level:ident, $message:literal $(, $field:ident = $value:expr)? $(,)?) => {
        #[cfg(all(feature = "tracing", target_has_atomic = "ptr"))]
        tracing::$level!(target: "readthrough", $($field = $value,)? $message);
        #[cfg(all(feature = "defmt", target_os = "none"))]
        $crate::events::defmt_event!($level, $message $(, $field = $value)?);
    };
}

/// The defmt half of [`event!`]: the message interned (a table index on the wire, like a
/// literal format string), the field's name as text after it.
#[cfg(all(feature = "defmt", target_os = "none"))]
macro_rules! defmt_event {
    ($level:ident, $message:literal) => {
        defmt::$level!("readthrough: {=istr}", defmt::intern!($message))
    };
    ($level:ident, $message:literal, $field:ident = $value:expr) => {
        defmt::$level!(
            "readthrough: {=istr} ({=str}: {})",
            defmt::intern!($message),
            core::stringify!($field),
            $value
        )
    };
}

#[cfg(all(feature = "defmt", target_os = "none"))]
pub(crate) use defmt_event;
pub(crate) use event;

/// A duration as whole milliseconds, for an event field.
#[cfg(any(
    all(feature = "tracing", target_has_atomic = "ptr"),
    all(feature = "defmt", target_os = "none")
))]
pub(crate) fn millis(duration: core::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
