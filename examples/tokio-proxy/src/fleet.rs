//! Several proxies behind one Redis: each keeps its own cache and shares responses through
//! Redis, so the fleet asks the origin once per URL.

use hyper::StatusCode;
use hyper::header::HeaderValue;
use readthrough_redis::{Codec, DecodeError, EncodeError, RedisTier};

use crate::cached_response::CachedResponse;
use crate::proxy::ResponseCache;

/// How responses and their keys cross to Redis: the key as UTF-8; a response as its status
/// (2 bytes, big-endian), its content type (a length byte, 255 for none, then the bytes) and
/// its body (the rest).
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseCodec;

/// Content types longer than this are not written to Redis (the response stays local).
const MAX_CONTENT_TYPE: usize = 254;
const NO_CONTENT_TYPE: u8 = 255;

impl Codec<String> for ResponseCodec {
    fn encode(&self, key: &String, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(key.as_bytes());
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError)
    }
}

impl Codec<CachedResponse> for ResponseCodec {
    fn encode(&self, response: &CachedResponse, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&response.status.as_u16().to_be_bytes());
        match &response.content_type {
            None => out.push(NO_CONTENT_TYPE),
            Some(value) if value.len() <= MAX_CONTENT_TYPE => {
                out.push(value.len() as u8);
                out.extend_from_slice(value.as_bytes());
            }
            Some(_) => return Err(EncodeError),
        }
        out.extend_from_slice(&response.body);
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<CachedResponse, DecodeError> {
        let [high, low, length, rest @ ..] = bytes else {
            return Err(DecodeError);
        };
        let status =
            StatusCode::from_u16(u16::from_be_bytes([*high, *low])).map_err(|_| DecodeError)?;
        let (content_type, body) = match *length {
            NO_CONTENT_TYPE => (None, rest),
            length => {
                let length = usize::from(length);
                if rest.len() < length {
                    return Err(DecodeError);
                }
                let (value, body) = rest.split_at(length);
                let value = HeaderValue::from_bytes(value).map_err(|_| DecodeError)?;
                (Some(value), body)
            }
        };
        Ok(CachedResponse {
            status,
            content_type,
            body: bytes::Bytes::copy_from_slice(body),
        })
    }
}

/// One proxy's connection to the shared Redis.
pub type ResponseTier = RedisTier<String, ResponseCodec, readthrough_tokio::TokioTimer>;

/// A proxy's cache in front of the shared Redis.
pub type FleetCache = readthrough_core::Tiered<ResponseCache, ResponseTier>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_cross_unchanged_and_garbage_is_refused() {
        let response = CachedResponse {
            status: StatusCode::NOT_FOUND,
            content_type: Some(HeaderValue::from_static("text/plain")),
            body: bytes::Bytes::from_static(b"no such item"),
        };
        let mut bytes = Vec::new();
        ResponseCodec.encode(&response, &mut bytes).unwrap();
        assert_eq!(ResponseCodec.decode(&bytes), Ok(response));
        let bare = CachedResponse {
            status: StatusCode::OK,
            content_type: None,
            body: bytes::Bytes::new(),
        };
        let mut bytes = Vec::new();
        ResponseCodec.encode(&bare, &mut bytes).unwrap();
        assert_eq!(ResponseCodec.decode(&bytes), Ok(bare));
        for garbage in [&b""[..], b"\x00", b"\xff\xff\x00", b"\x00\xc8\x09abc"] {
            assert_eq!(
                Codec::<CachedResponse>::decode(&ResponseCodec, garbage),
                Err(DecodeError)
            );
        }
    }
}
