//! The evidence files inspectors keep: a signed checkpoint, and beside it (`FILE.leaves`)
//! the leaf hashes it covers, 32 bytes each. Files are written once, never overwritten,
//! and synced before they count as written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::merkle::Hash;

/// The leaf list that belongs with a checkpoint file.
pub fn leaves_path(checkpoint: &Path) -> PathBuf {
    let mut name = checkpoint.as_os_str().to_owned();
    name.push(".leaves");
    PathBuf::from(name)
}

/// A leaf list as stored: the hashes one after the other.
pub fn encode_leaves(leaves: &[Hash]) -> Vec<u8> {
    leaves.concat()
}

/// A stored leaf list; `None` when its length is not a multiple of 32 bytes.
pub fn decode_leaves(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks(32)
            .map(|c| c.try_into().expect("chunks of 32 bytes"))
            .collect(),
    )
}

/// Write `bytes` to a file that must not exist yet, and sync it to disk.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A key given on the command line or in the environment: the key itself, or the path
/// of a file that holds it.
pub fn key_text(given: &str) -> std::io::Result<String> {
    let path = Path::new(given);
    if path.is_file() {
        return Ok(std::fs::read_to_string(path)?.trim().to_owned());
    }
    Ok(given.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_list_round_trips_and_a_torn_one_is_refused() {
        let leaves: Vec<Hash> = vec![[1; 32], [2; 32]];
        assert_eq!(decode_leaves(&encode_leaves(&leaves)), Some(leaves));
        assert_eq!(decode_leaves(&[0; 33]), None);
        assert_eq!(
            leaves_path(Path::new("/tmp/checkpoint-1.txt")),
            PathBuf::from("/tmp/checkpoint-1.txt.leaves")
        );
    }
}
