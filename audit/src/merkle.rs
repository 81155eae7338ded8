//! The RFC 6962 / RFC 9162 Merkle tree over the log's leaves: the tree hash, inclusion
//! and consistency proofs built from stored leaf hashes, and their verification.
//!
//! Proofs are built from leaf hashes alone (the definitions of RFC 6962 §2.1), because the
//! ledger keeps 32 bytes per event rather than whole leaves. Verification follows the
//! decomposition used by transparency-dev/merkle and is checked against that project's
//! reference vectors (`audit/testdata/`), every "want error" case included; and, in the
//! tests, against the `ct-merkle` crate as an independent implementation.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyOldTree,
    #[error("the older tree ({old}) is larger than the newer one ({new})")]
    OldTreeLarger { old: u64, new: u64 },
    #[error("a proof element or hash is {0} bytes long, not 32")]
    WrongHashLength(usize),
    #[error("the proof has {got} hashes; a proof for these sizes has {want}")]
    WrongProofSize { got: usize, want: usize },
    #[error("the proof leads to a different root: the entries are not what the root commits to")]
    RootMismatch,
}

/// RFC 6962 leaf hash: SHA-256(0x00 || leaf).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash of `leaves` (RFC 6962 §2.1, MTH).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 §2.1.1, PATH).
///
/// # Panics
/// If `index` is not below `leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(
        index < leaves.len(),
        "inclusion proof for a leaf outside the tree"
    );
    let mut path = Vec::new();
    inclusion_path(leaves, index, &mut path);
    path
}

fn inclusion_path(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        inclusion_path(&leaves[..k], index, path);
        path.push(root(&leaves[k..]));
    } else {
        inclusion_path(&leaves[k..], index - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of
/// `leaves` (RFC 6962 §2.1.2, PROOF). Empty when `old_size` is 0 or the whole tree.
///
/// # Panics
/// If `old_size` is larger than `leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    assert!(
        old_size <= leaves.len(),
        "consistency proof from a larger tree"
    );
    let mut proof = Vec::new();
    if old_size > 0 {
        subproof(old_size, leaves, true, &mut proof);
    }
    proof
}

fn subproof(m: usize, leaves: &[Hash], whole_old_tree: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !whole_old_tree {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], whole_old_tree, proof);
        proof.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

/// A tree over leaf hashes that keeps the hash of every complete, aligned subtree, so that
/// a root or a proof for any prefix costs O(log² n) hashes once it is built (O(n)).
/// Used when many proofs are made from one log (exports); gives the same results as
/// [`root`], [`inclusion_proof`] and [`consistency_proof`].
pub struct Tree {
    /// `levels[j][i]`: the hash of leaves `i·2^j .. (i+1)·2^j`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        loop {
            let below = levels.last().expect("level 0 exists");
            if below.len() < 2 {
                break;
            }
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Tree { levels }
    }

    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&self, size: usize) -> Hash {
        assert!(size <= self.leaves().len(), "a root beyond the leaves");
        subtrees_root(&mut &*self, 0, size as u64)
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: usize, size: usize) -> Vec<Hash> {
        assert!(
            index < size && size <= self.leaves().len(),
            "inclusion proof outside the tree"
        );
        subtrees_inclusion_proof(&mut &*self, index as u64, size as u64)
    }

    /// The proof that the first `old_size` leaves' tree is a prefix of the first
    /// `size` leaves' tree.
    pub fn consistency_proof(&self, old_size: usize, size: usize) -> Vec<Hash> {
        assert!(
            old_size <= size && size <= self.leaves().len(),
            "consistency proof outside the tree"
        );
        subtrees_consistency_proof(&mut &*self, old_size as u64, size as u64)
    }
}

impl Subtrees for &Tree {
    fn subtree(&mut self, height: u32, index: u64) -> Hash {
        self.levels[height as usize][index as usize]
    }
}

/// Where the hashes of complete, aligned subtrees come from (a [`Tree`] in memory, the
/// stored tiles): all the RFC's recursion reads once a tree is built.
pub trait Subtrees {
    /// The hash of leaves `index·2^height .. (index+1)·2^height`.
    fn subtree(&mut self, height: u32, index: u64) -> Hash;
}

/// MTH of leaves `start..end`, where `start` is a multiple of the largest power of two
/// not above `end - start` (true of every range the RFC's recursion visits).
pub fn subtrees_root(source: &mut dyn Subtrees, start: u64, end: u64) -> Hash {
    let n = end - start;
    if n == 0 {
        return empty_root();
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return source.subtree(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split(n as usize) as u64;
    node_hash(
        &subtrees_root(source, start, start + k),
        &subtrees_root(source, start + k, end),
    )
}

/// The audit path of leaf `index` in the tree of the first `size` leaves.
pub fn subtrees_inclusion_proof(source: &mut dyn Subtrees, index: u64, size: u64) -> Vec<Hash> {
    fn path(source: &mut dyn Subtrees, index: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n as usize) as u64;
        if index < start + k {
            path(source, index, start, start + k, out);
            out.push(subtrees_root(source, start + k, end));
        } else {
            path(source, index, start + k, end, out);
            out.push(subtrees_root(source, start, start + k));
        }
    }
    let mut out = Vec::new();
    path(source, index, 0, size, &mut out);
    out
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of the
/// first `size` (empty when `old_size` is 0).
pub fn subtrees_consistency_proof(
    source: &mut dyn Subtrees,
    old_size: u64,
    size: u64,
) -> Vec<Hash> {
    fn subproof(
        source: &mut dyn Subtrees,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(subtrees_root(source, start, end));
            }
            return;
        }
        let k = split(n as usize) as u64;
        if m <= k {
            subproof(source, m, start, start + k, whole, out);
            out.push(subtrees_root(source, start + k, end));
        } else {
            subproof(source, m - k, start + k, end, false, out);
            out.push(subtrees_root(source, start, start + k));
        }
    }
    let mut out = Vec::new();
    if old_size > 0 {
        subproof(source, old_size, 0, size, true, &mut out);
    }
    out
}

/// Turn proof elements of any length into hashes, refusing any that is not 32 bytes.
pub fn hashes_from_bytes(elements: &[Vec<u8>]) -> Result<Vec<Hash>, ProofError> {
    elements.iter().map(|e| hash_from_bytes(e)).collect()
}

/// One 32-byte hash from bytes, refusing any other length.
pub fn hash_from_bytes(bytes: &[u8]) -> Result<Hash, ProofError> {
    bytes
        .try_into()
        .map_err(|_| ProofError::WrongHashLength(bytes.len()))
}

/// How an inclusion proof for `index` in a tree of `size` splits: hashes below the point
/// where the paths to `index` and to the last leaf part ("inner"), and the left siblings
/// above it ("border").
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (u64::BITS - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 0 {
            node_hash(&acc, h)
        } else {
            node_hash(h, &acc)
        }
    })
}

fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 1 {
            node_hash(h, &acc)
        } else {
            acc
        }
    })
}

fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

/// The root that an inclusion proof for `leaf` at `index` in a tree of `size` leads to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want: inner + border,
        });
    }
    let hash = chain_inner(*leaf, &proof[..inner], index);
    Ok(chain_border_right(hash, &proof[inner..]))
}

/// Check that `leaf` is entry `index` of the tree of `size` whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &[u8],
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed.as_slice() == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Check that the tree of `old_size` with root `old_root` is a prefix of the tree of
/// `new_size` with root `new_root`. Roots are compared as given (a root of the wrong
/// length simply does not match).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &[u8],
    new_root: &[u8],
) -> Result<(), ProofError> {
    if old_size == 0 {
        // Every tree extends the empty one: such a "proof" proves nothing, and is refused.
        return Err(ProofError::EmptyOldTree);
    }
    if old_size > new_size {
        return Err(ProofError::OldTreeLarger {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofSize {
                got: proof.len(),
                want: 0,
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongProofSize { got: 0, want: 1 });
    }
    let (inner, border) = decompose_inclusion(old_size - 1, new_size);
    let shift = old_size.trailing_zeros() as usize;
    let inner = inner - shift;
    // The proof starts with the root of the subtree of size 2^shift that ends the old
    // tree, unless the old tree is exactly that subtree.
    let (seed, rest) = if old_size == 1u64 << shift {
        (hash_from_bytes(old_root)?, proof)
    } else {
        (proof[0], &proof[1..])
    };
    if rest.len() != inner + border {
        let start = proof.len() - rest.len();
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want: start + inner + border,
        });
    }
    let mask = (old_size - 1) >> shift;
    let old = chain_border_right(
        chain_inner_right(seed, &rest[..inner], mask),
        &rest[inner..],
    );
    if old.as_slice() != old_root {
        return Err(ProofError::RootMismatch);
    }
    let new = chain_border_right(chain_inner(seed, &rest[..inner], mask), &rest[inner..]);
    if new.as_slice() != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::Value;
    use std::path::Path;

    fn bytes(value: &Value) -> Vec<u8> {
        value
            .as_str()
            .map(|s| STANDARD.decode(s).expect("base64 in a vector"))
            .unwrap_or_default()
    }

    fn proof_elements(value: &Value) -> Vec<Vec<u8>> {
        value
            .as_array()
            .map(|a| a.iter().map(bytes).collect())
            .unwrap_or_default()
    }

    fn vectors(kind: &str) -> Vec<(String, Value)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(kind);
        let mut found = Vec::new();
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("the vectors are in the repository") {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    found.push((
                        path.display().to_string(),
                        serde_json::from_str(&text).unwrap(),
                    ));
                }
            }
        }
        found
    }

    #[test]
    fn the_inclusion_reference_vectors_verify_or_are_rejected_as_they_say() {
        let cases = vectors("inclusion");
        assert!(cases.len() > 90, "{} inclusion vectors", cases.len());
        for (name, case) in cases {
            let outcome = (|| {
                let leaf = hash_from_bytes(&bytes(&case["leafHash"]))?;
                let proof = hashes_from_bytes(&proof_elements(&case["proof"]))?;
                verify_inclusion(
                    case["leafIdx"].as_u64().unwrap(),
                    case["treeSize"].as_u64().unwrap(),
                    &leaf,
                    &proof,
                    &bytes(&case["root"]),
                )
            })();
            let want_error = case["wantErr"].as_bool().unwrap();
            assert_eq!(outcome.is_err(), want_error, "{name}: {outcome:?}");
        }
    }

    #[test]
    fn the_consistency_reference_vectors_verify_or_are_rejected_as_they_say() {
        let cases = vectors("consistency");
        assert!(cases.len() > 90, "{} consistency vectors", cases.len());
        for (name, case) in cases {
            let outcome = (|| {
                let proof = hashes_from_bytes(&proof_elements(&case["proof"]))?;
                verify_consistency(
                    case["size1"].as_u64().unwrap(),
                    case["size2"].as_u64().unwrap(),
                    &proof,
                    &bytes(&case["root1"]),
                    &bytes(&case["root2"]),
                )
            })();
            let want_error = case["wantErr"].as_bool().unwrap();
            assert_eq!(outcome.is_err(), want_error, "{name}: {outcome:?}");
        }
    }

    fn leaves(n: usize) -> (Vec<Vec<u8>>, Vec<Hash>) {
        let data: Vec<Vec<u8>> = (0..n).map(|i| format!("事件 {i}").into_bytes()).collect();
        let hashes = data.iter().map(|d| leaf_hash(d)).collect();
        (data, hashes)
    }

    /// Our roots and proofs agree with ct-merkle's, an independent RFC 6962 implementation.
    #[test]
    fn roots_and_proofs_agree_with_ct_merkle() {
        use ct_merkle::mem_backed_tree::MemoryBackedTree;
        let (data, hashes) = leaves(70);
        let mut tree = MemoryBackedTree::<sha2_011::Sha256, Vec<u8>>::new();
        for (n, leaf) in data.iter().enumerate() {
            tree.push(leaf.clone());
            let size = n + 1;
            let theirs = tree.root();
            assert_eq!(
                theirs.as_bytes().as_slice(),
                root(&hashes[..size]).as_slice()
            );
            for index in [0, size / 2, size - 1] {
                let ours: Vec<u8> = inclusion_proof(&hashes[..size], index).concat();
                assert_eq!(
                    ours,
                    tree.prove_inclusion(index).as_bytes(),
                    "size {size} index {index}"
                );
                let proof = ct_merkle::InclusionProof::<sha2_011::Sha256>::from_bytes(ours);
                theirs
                    .verify_inclusion(&data[index], index as u64, &proof)
                    .expect("ct-merkle accepts our inclusion proof");
            }
        }
        for old in 1..70 {
            let mut old_tree = MemoryBackedTree::<sha2_011::Sha256, Vec<u8>>::new();
            for leaf in &data[..old] {
                old_tree.push(leaf.clone());
            }
            let ours = consistency_proof(&hashes, old).concat();
            let proof = ct_merkle::ConsistencyProof::<sha2_011::Sha256>::try_from_bytes(ours)
                .expect("well-formed");
            tree.root()
                .verify_consistency(&old_tree.root(), &proof)
                .unwrap_or_else(|e| panic!("ct-merkle refuses our proof from {old}: {e:?}"));
        }
    }

    #[test]
    fn the_cached_tree_gives_the_same_roots_and_proofs() {
        let (_, hashes) = leaves(67);
        let tree = Tree::new(hashes.clone());
        for size in 0..=hashes.len() {
            assert_eq!(tree.root(size), root(&hashes[..size]), "root of {size}");
            for index in 0..size {
                assert_eq!(
                    tree.inclusion_proof(index, size),
                    inclusion_proof(&hashes[..size], index)
                );
            }
            for old in 0..=size {
                assert_eq!(
                    tree.consistency_proof(old, size),
                    consistency_proof(&hashes[..size], old)
                );
            }
        }
    }

    #[test]
    fn every_proof_verifies_and_any_flipped_bit_is_rejected() {
        let (_, hashes) = leaves(37);
        for size in 1..=hashes.len() {
            let tree = &hashes[..size];
            let root = root(tree);
            for index in 0..size {
                let proof = inclusion_proof(tree, index);
                verify_inclusion(index as u64, size as u64, &tree[index], &proof, &root).unwrap();
                for element in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[element][5] ^= 0x10;
                    assert!(
                        verify_inclusion(index as u64, size as u64, &tree[index], &bad, &root)
                            .is_err()
                    );
                }
            }
            for old in 1..=size {
                let proof = consistency_proof(tree, old);
                let old_root = super::root(&tree[..old]);
                verify_consistency(old as u64, size as u64, &proof, &old_root, &root).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = {
                        let mut h = *first;
                        h[31] ^= 1;
                        h
                    };
                    assert!(
                        verify_consistency(old as u64, size as u64, &bad, &old_root, &root)
                            .is_err()
                    );
                }
            }
        }
    }
}
