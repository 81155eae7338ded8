//! The Merkle tree kept as it grows, so that proofs read O(log n) hashes instead of
//! recomputing every leaf: the tiled layout of C2SP `tlog-tiles` (as Tessera and Sigsum
//! use it), stored in the `audit_tiles` table. Level 0 holds the leaf hashes, 256 to a
//! tile; a full tile's root is the next hash of the level above; a node inside a tile
//! (a subtree of 2, 4 … 128 hashes of its level) is hashed from the tile when asked.
//!
//! The tiles are a cache, never evidence: they are derived from the `events` table
//! (extended from where they stop, rebuilt when they disagree with a checkpoint), and
//! every proof made from them is checked before it leaves — the proven row's leaf must
//! be the tree's, and the tree's root must be the signed one — so a stale or forged tile
//! can make a proof fail but never make a false one.

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;
use whistle_store::Database;

use crate::AuditError;
use crate::leaf::{Leaf, StoredEvent};
use crate::merkle::{
    self, Hash, Subtrees, subtrees_consistency_proof, subtrees_inclusion_proof, subtrees_root,
};

/// Hashes per tile.
pub const TILE_WIDTH: usize = 256;
/// Tree levels per tile level (256 = 2^8).
const TILE_HEIGHT: u32 = 8;
/// Events read per batch while extending.
const BATCH: i64 = 10_000;

/// The tiles of one level that a computation needs, by tile index.
type Tiles = HashMap<(u32, u64), Vec<Hash>>;

fn decode(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|chunk| chunk.try_into().expect("32-byte chunks"))
        .collect()
}

fn encode(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.iter().copied()).collect()
}

/// How many leaves the stored tiles cover.
pub async fn stored_size(db: &Database) -> Result<u64, AuditError> {
    let row = sqlx::query(
        "SELECT idx, hashes FROM audit_tiles WHERE level = 0 ORDER BY idx DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        None => 0,
        Some(row) => {
            let idx: i64 = row.try_get(0)?;
            let hashes: Vec<u8> = row.try_get(1)?;
            idx as u64 * TILE_WIDTH as u64 + (hashes.len() / 32) as u64
        }
    })
}

/// Forget every tile (they are rebuilt from the log by [`extend`]).
pub async fn clear(db: &Database) -> Result<(), AuditError> {
    sqlx::query("DELETE FROM audit_tiles")
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Bring the tiles up to the end of the log; returns the tree size they cover. Refuses a
/// log whose positions are not 1, 2, 3, … (the full audit names where).
pub async fn extend(db: &Database) -> Result<u64, AuditError> {
    let mut size = stored_size(db).await?;
    // The rightmost (partial) tile of each level, as stored.
    let mut edges: Vec<(u64, Vec<Hash>)> = Vec::new();
    for level in 0.. {
        let row = sqlx::query(
            "SELECT idx, hashes FROM audit_tiles WHERE level = $1 ORDER BY idx DESC LIMIT 1",
        )
        .bind(level as i64)
        .fetch_optional(db.pool())
        .await?;
        match row {
            Some(row) => {
                let idx: i64 = row.try_get(0)?;
                let hashes: Vec<u8> = row.try_get(1)?;
                let hashes = decode(&hashes);
                // A full tile is done; the level continues in the next one.
                if hashes.len() == TILE_WIDTH {
                    edges.push((idx as u64 + 1, Vec::new()));
                } else {
                    edges.push((idx as u64, hashes));
                }
            }
            None => break,
        }
    }
    loop {
        let sql = format!(
            "SELECT {} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            whistle_store::EVENT_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(size as i64)
            .bind(BATCH)
            .fetch_all(db.pool())
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut changed: BTreeSet<(u32, u64)> = BTreeSet::new();
        let mut full: Vec<((u32, u64), Vec<Hash>)> = Vec::new();
        for row in &rows {
            let event = StoredEvent::from_row(row)?;
            if event.position != size as i64 + 1 {
                return Err(AuditError::Tampered(format!(
                    "the log's positions are not gapless: entry {} has position {}; run `whistle audit verify`",
                    size + 1,
                    event.position
                )));
            }
            push(&mut edges, 0, event.leaf_hash(), &mut changed, &mut full);
            size += 1;
        }
        let mut tx = db.pool().begin().await?;
        for ((level, idx), hashes) in &full {
            write_tile(&mut tx, *level, *idx, hashes).await?;
        }
        for &(level, idx) in &changed {
            let (edge_idx, hashes) = &edges[level as usize];
            if *edge_idx == idx && !hashes.is_empty() {
                write_tile(&mut tx, level, idx, hashes).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(size)
}

/// Append `hash` to `level`; a tile that fills up is set aside to be written and its
/// root is appended to the level above.
fn push(
    edges: &mut Vec<(u64, Vec<Hash>)>,
    level: u32,
    hash: Hash,
    changed: &mut BTreeSet<(u32, u64)>,
    full: &mut Vec<((u32, u64), Vec<Hash>)>,
) {
    if edges.len() <= level as usize {
        edges.push((0, Vec::new()));
    }
    let (idx, hashes) = &mut edges[level as usize];
    hashes.push(hash);
    changed.insert((level, *idx));
    if hashes.len() == TILE_WIDTH {
        let done = std::mem::take(hashes);
        let done_idx = *idx;
        *idx += 1;
        let root = merkle::root(&done);
        full.push(((level, done_idx), done));
        push(edges, level + 1, root, changed, full);
    }
}

async fn write_tile(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    level: u32,
    idx: u64,
    hashes: &[Hash],
) -> Result<(), AuditError> {
    sqlx::query(
        "INSERT INTO audit_tiles (level, idx, hashes) VALUES ($1, $2, $3) \
         ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
    )
    .bind(level as i64)
    .bind(idx as i64)
    .bind(encode(hashes))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The complete subtrees a computation reads, as (height, index).
type Nodes = BTreeSet<(u32, u64)>;

/// Records which subtrees are read, answering zeros (the recursion's shape depends on
/// indices only).
struct Recorder(Nodes);

impl Subtrees for Recorder {
    fn subtree(&mut self, height: u32, index: u64) -> Hash {
        self.0.insert((height, index));
        [0; 32]
    }
}

/// Answers subtrees from loaded tiles.
struct FromTiles<'a>(&'a Tiles);

impl Subtrees for FromTiles<'_> {
    fn subtree(&mut self, height: u32, index: u64) -> Hash {
        let level = height / TILE_HEIGHT;
        let within = height % TILE_HEIGHT;
        let first = index << within;
        let tile = first / TILE_WIDTH as u64;
        let offset = (first % TILE_WIDTH as u64) as usize;
        let hashes = &self.0[&(level, tile)];
        merkle::root(&hashes[offset..offset + (1usize << within)])
    }
}

/// What a proof needs from the tree: the root of a size, and a path or a consistency
/// proof, computed from as few tiles as they read.
pub struct Proof {
    pub root: Hash,
    pub hashes: Vec<Hash>,
    /// The leaf at the proven index (inclusion proofs).
    pub leaf: Option<Hash>,
}

/// Load the tiles holding `nodes`, in one query per tile level.
async fn load(db: &Database, nodes: &Nodes) -> Result<Tiles, AuditError> {
    let mut wanted: BTreeSet<(u32, u64)> = BTreeSet::new();
    for &(height, index) in nodes {
        let level = height / TILE_HEIGHT;
        let first = index << (height % TILE_HEIGHT);
        wanted.insert((level, first / TILE_WIDTH as u64));
    }
    let mut tiles = Tiles::new();
    for (level, idx) in wanted {
        let row = sqlx::query("SELECT hashes FROM audit_tiles WHERE level = $1 AND idx = $2")
            .bind(level as i64)
            .bind(idx as i64)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| {
                AuditError::Proof(format!("the tree's tile {level}/{idx} is not built"))
            })?;
        let hashes: Vec<u8> = row.try_get(0)?;
        tiles.insert((level, idx), decode(&hashes));
    }
    Ok(tiles)
}

/// Run `compute` over the stored tiles: first to learn which nodes it reads, then on
/// the tiles holding them.
async fn over_tiles<T>(
    db: &Database,
    compute: impl Fn(&mut dyn Subtrees) -> T,
) -> Result<T, AuditError> {
    let mut recorder = Recorder(Nodes::new());
    compute(&mut recorder);
    let tiles = load(db, &recorder.0).await?;
    // A tile shorter than a node needs means the tiles stop before the tree asked for.
    for &(height, index) in &recorder.0 {
        let level = height / TILE_HEIGHT;
        let within = height % TILE_HEIGHT;
        let first = index << within;
        let tile = &tiles[&(level, first / TILE_WIDTH as u64)];
        let end = (first % TILE_WIDTH as u64) as usize + (1usize << within);
        if tile.len() < end {
            return Err(AuditError::Proof(format!(
                "the tree's tile {level}/{} holds {} hashes, fewer than the {end} needed",
                first / TILE_WIDTH as u64,
                tile.len()
            )));
        }
    }
    Ok(compute(&mut FromTiles(&tiles)))
}

/// The root of the tree of the first `size` leaves, and the audit path of leaf `index`.
pub async fn inclusion(db: &Database, index: u64, size: u64) -> Result<Proof, AuditError> {
    over_tiles(db, |source| Proof {
        hashes: subtrees_inclusion_proof(source, index, size),
        root: subtrees_root(source, 0, size),
        leaf: Some(source.subtree(0, index)),
    })
    .await
}

/// The roots of the trees of `old` and `size` leaves, and the consistency proof.
pub async fn consistency(db: &Database, old: u64, size: u64) -> Result<(Hash, Proof), AuditError> {
    over_tiles(db, |source| {
        (
            subtrees_root(source, 0, old),
            Proof {
                hashes: subtrees_consistency_proof(source, old, size),
                root: subtrees_root(source, 0, size),
                leaf: None,
            },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source over leaves in memory, tiled exactly as the store tiles them.
    fn tiled(leaves: &[Hash]) -> Tiles {
        let mut edges = Vec::new();
        let mut changed = BTreeSet::new();
        let mut full = Vec::new();
        for leaf in leaves {
            push(&mut edges, 0, *leaf, &mut changed, &mut full);
        }
        let mut tiles: Tiles = full.into_iter().collect();
        for (level, (idx, hashes)) in edges.into_iter().enumerate() {
            if !hashes.is_empty() {
                tiles.insert((level as u32, idx), hashes);
            }
        }
        tiles
    }

    #[test]
    fn proofs_from_tiles_equal_proofs_from_every_leaf() {
        let leaves: Vec<Hash> = (0..70_000u32)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let tiles = tiled(&leaves);
        let tree = merkle::Tree::new(leaves.clone());
        for size in [1u64, 2, 3, 255, 256, 257, 65_535, 65_536, 65_537, 70_000] {
            let mut source = FromTiles(&tiles);
            assert_eq!(
                subtrees_root(&mut source, 0, size),
                merkle::root(&leaves[..size as usize]),
                "root of {size}"
            );
            for index in [0, size / 3, size - 1] {
                assert_eq!(
                    subtrees_inclusion_proof(&mut source, index, size),
                    tree.inclusion_proof(index as usize, size as usize),
                    "path of {index} in {size}"
                );
            }
            for old in [1, size / 2, size] {
                if old == 0 {
                    continue;
                }
                assert_eq!(
                    subtrees_consistency_proof(&mut source, old, size),
                    tree.consistency_proof(old as usize, size as usize),
                    "consistency {old} → {size}"
                );
            }
        }
        // A proof reads few tiles: at most two per tile level and the edges.
        let mut recorder = Recorder(Nodes::new());
        subtrees_inclusion_proof(&mut recorder, 12_345, 70_000);
        assert!(recorder.0.len() <= 40, "{}", recorder.0.len());
    }
}
