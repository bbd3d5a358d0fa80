//! The hash chain: `hash_n = BLAKE3(prev_n ‖ seq_n as 8 bytes big-endian ‖ bytes_n)`, keyed
//! BLAKE3 when the store has a key. `prev_1` is 32 zero bytes (or the anchor of a purged or
//! partial store).

use vigil_events::Hash;

/// A 32-byte chain key read from a key file.
pub type Key = [u8; 32];

/// The hash before the first record of a store that starts at seq 1.
pub const ZERO_HASH: Hash = [0; 32];

/// Chain hash of the record `bytes` at `seq` following `prev`.
pub fn chain_hash(key: Option<&Key>, prev: &Hash, seq: u64, bytes: &[u8]) -> Hash {
    let mut h = match key {
        Some(k) => blake3::Hasher::new_keyed(k),
        None => blake3::Hasher::new(),
    };
    h.update(prev);
    h.update(&seq.to_be_bytes());
    h.update(bytes);
    *h.finalize().as_bytes()
}

/// The value stored in the marker file that tells whether a key file matches the store's key
/// without revealing the key: keyed BLAKE3 of a fixed text.
pub fn key_check(key: &Key) -> Hash {
    *blake3::keyed_hash(key, b"vigil-store key check v1").as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hash_is_blake3_of_prev_seq_bytes() {
        let mut input = vec![1u8; 32];
        input.extend_from_slice(&7u64.to_be_bytes());
        input.extend_from_slice(b"abc");
        assert_eq!(
            chain_hash(None, &[1; 32], 7, b"abc"),
            *blake3::hash(&input).as_bytes()
        );
        let key = [9u8; 32];
        assert_eq!(
            chain_hash(Some(&key), &[1; 32], 7, b"abc"),
            *blake3::keyed_hash(&key, &input).as_bytes()
        );
    }
}
