//! The default codec: serde in the postcard format (compact, fast; see DESIGN.md for the
//! measurements that chose it).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, DecodeError, EncodeError};

/// Every `serde` type in the [postcard](https://docs.rs/postcard) format: varint integers, no
/// field names, so small and quick to encode and decode.
///
/// Postcard is not self-describing: a changed type reads old bytes as garbage (a counted miss,
/// then overwritten) or, rarely, as a wrong value. Change the tier's
/// [`prefix`](crate::RedisTierConfig::prefix) when a cached type changes incompatibly.
///
/// ```
/// use readthrough_redis::{Codec, Postcard};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Row { id: u64, name: String }
///
/// let row = Row { id: 7, name: "seven".into() };
/// let mut bytes = Vec::new();
/// Postcard.encode(&row, &mut bytes).unwrap();
/// assert_eq!(bytes.len(), 7);
/// assert_eq!(Codec::<Row>::decode(&Postcard, &bytes).unwrap(), row);
/// assert!(Codec::<Row>::decode(&Postcard, b"\xff\xff").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Postcard;

impl<T: Serialize + DeserializeOwned> Codec<T> for Postcard {
    fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let encoded = postcard::to_extend(value, core::mem::take(out)).map_err(|_| EncodeError)?;
        *out = encoded;
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<T, DecodeError> {
        // Trailing bytes mean these were not written as one `T`: refuse them like garbage.
        match postcard::take_from_bytes(bytes) {
            Ok((value, [])) => Ok(value),
            _ => Err(DecodeError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_refused_like_garbage() {
        let mut bytes = Vec::new();
        Postcard.encode(&7_u32, &mut bytes).unwrap();
        assert_eq!(Codec::<u32>::decode(&Postcard, &bytes), Ok(7));
        bytes.push(0);
        assert_eq!(Codec::<u32>::decode(&Postcard, &bytes), Err(DecodeError));
    }
}
