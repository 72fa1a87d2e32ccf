//! How keys and values become bytes in Redis and back.

use core::fmt;

/// Turns `T` into bytes for the shared tier and back.
///
/// The tier uses one codec for keys (inside Redis key names and announcements) and values, so a
/// codec implements `Codec<K>` and `Codec<V>`. Bytes that do not decode (written by another
/// version of the program, or garbage) are a tier miss, never a panic: return
/// [`DecodeError`].
///
/// ```
/// use readthrough_redis::{Codec, DecodeError, EncodeError};
///
/// /// Strings as their UTF-8 bytes.
/// struct Utf8;
///
/// impl Codec<String> for Utf8 {
///     fn encode(&self, value: &String, out: &mut Vec<u8>) -> Result<(), EncodeError> {
///         out.extend_from_slice(value.as_bytes());
///         Ok(())
///     }
///     fn decode(&self, bytes: &[u8]) -> Result<String, DecodeError> {
///         String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError)
///     }
/// }
///
/// let mut bytes = Vec::new();
/// Utf8.encode(&"héllo".to_string(), &mut bytes).unwrap();
/// assert_eq!(Utf8.decode(&bytes).unwrap(), "héllo");
/// assert_eq!(Utf8.decode(&[0xff]), Err(DecodeError));
/// ```
pub trait Codec<T> {
    /// Appends the bytes of `value` to `out`.
    fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Reads a `T` from exactly `bytes`.
    fn decode(&self, bytes: &[u8]) -> Result<T, DecodeError>;
}

/// A value could not be encoded; it is not written to the tier.
///
/// ```
/// assert_eq!(readthrough_redis::EncodeError.to_string(), "value could not be encoded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError;

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value could not be encoded")
    }
}

impl std::error::Error for EncodeError {}

/// Stored bytes are not a valid `T`; the tier treats them as a miss.
///
/// ```
/// assert_eq!(readthrough_redis::DecodeError.to_string(), "stored bytes could not be decoded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stored bytes could not be decoded")
    }
}

impl std::error::Error for DecodeError {}
