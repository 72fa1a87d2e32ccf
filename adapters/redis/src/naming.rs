//! Where a key's value, lock and announcements live in Redis.
//!
//! `<prefix>{<tag>}:v:<key>` holds the value and `<prefix>{<tag>}:l:<key>` the lock, where the
//! tag is a 64-bit FNV-1a digest of the encoded key in hex. Redis Cluster hashes only the part
//! between the first `{` and the next `}`, so both names of a key land on one slot whatever
//! bytes the key contains (a brace inside the key cannot move the tag, which comes first).
//! Announcements go to one channel per prefix, `<prefix>:announcements`: every node must hear
//! every key's announcements, and classic pub/sub reaches the whole cluster.

pub(crate) struct Naming {
    prefix: Vec<u8>,
    channel: Vec<u8>,
}

/// Which of a key's two Redis entries.
#[derive(Clone, Copy)]
pub(crate) enum Entry {
    Value,
    Lock,
}

impl Naming {
    pub(crate) fn new(prefix: &str) -> Self {
        Naming {
            prefix: prefix.as_bytes().to_vec(),
            channel: format!("{prefix}:announcements").into_bytes(),
        }
    }

    pub(crate) fn channel(&self) -> &[u8] {
        &self.channel
    }

    pub(crate) fn name(&self, entry: Entry, key: &[u8]) -> Vec<u8> {
        let mut name = Vec::with_capacity(self.prefix.len() + 22 + key.len());
        name.extend_from_slice(&self.prefix);
        name.push(b'{');
        name.extend_from_slice(format!("{:016x}", fnv1a(key)).as_bytes());
        name.extend_from_slice(match entry {
            Entry::Value => b"}:v:",
            Entry::Lock => b"}:l:",
        });
        name.extend_from_slice(key);
        name
    }
}

/// A digest that every process computes alike (std's hashers are seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_tag(name: &[u8]) -> &[u8] {
        let open = name.iter().position(|b| *b == b'{').unwrap();
        let close = open + name[open..].iter().position(|b| *b == b'}').unwrap();
        &name[open + 1..close]
    }

    #[test]
    fn value_and_lock_share_the_hash_tag_even_with_braces_in_the_key() {
        let naming = Naming::new("app");
        for key in [&b"plain"[..], b"}{", b"{x}", b""] {
            let value = naming.name(Entry::Value, key);
            let lock = naming.name(Entry::Lock, key);
            assert_ne!(value, lock);
            assert_eq!(hash_tag(&value), hash_tag(&lock));
            assert_eq!(hash_tag(&value).len(), 16);
        }
    }

    #[test]
    fn names_are_stable_across_processes() {
        // FNV-1a of "a" is a published test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            Naming::new("p").name(Entry::Value, b"a"),
            b"p{af63dc4c8601ec8c}:v:a"
        );
    }
}
