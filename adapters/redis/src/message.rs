//! The bytes of an announcement on the channel: `R1`, the kind, the sender's node id (8 bytes,
//! little-endian), then the encoded key.

use readthrough_core::Announcement;

const MAGIC: &[u8; 2] = b"R1";
const HEADER: usize = MAGIC.len() + 1 + 8;

pub(crate) struct Message<'a> {
    pub(crate) from: u64,
    pub(crate) announcement: Announcement,
    pub(crate) key: &'a [u8],
}

pub(crate) fn encode(from: u64, announcement: Announcement, key: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER + key.len());
    bytes.extend_from_slice(MAGIC);
    bytes.push(match announcement {
        Announcement::Landed => b'L',
        Announcement::Abandoned => b'A',
        Announcement::Invalidated => b'I',
    });
    bytes.extend_from_slice(&from.to_le_bytes());
    bytes.extend_from_slice(key);
    bytes
}

/// `None` for anything this version did not write (a newer format, a stray publisher).
pub(crate) fn decode(bytes: &[u8]) -> Option<Message<'_>> {
    let (header, key) = bytes.split_at_checked(HEADER)?;
    let (magic, rest) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return None;
    }
    let announcement = match rest[0] {
        b'L' => Announcement::Landed,
        b'A' => Announcement::Abandoned,
        b'I' => Announcement::Invalidated,
        _ => return None,
    };
    let from = u64::from_le_bytes(rest[1..].try_into().ok()?);
    Some(Message {
        from,
        announcement,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_bytes() {
        let bytes = encode(42, Announcement::Invalidated, b"key");
        let message = decode(&bytes).unwrap();
        assert_eq!(
            (message.from, message.announcement, message.key),
            (42, Announcement::Invalidated, &b"key"[..])
        );
        assert!(decode(b"hello world").is_none());
        assert!(decode(&bytes[..5]).is_none());
    }
}
