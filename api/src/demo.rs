//! Demo data (filled next).
pub const DEFAULT_SEED: u64 = 2026;
pub async fn load(_url: &str, _seed: u64) -> anyhow::Result<String> {
    anyhow::bail!("not yet")
}
pub async fn load_if_empty(_url: &str, _seed: u64) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
