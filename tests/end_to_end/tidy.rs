//! Habits the repository keeps, checked on its files: every Rust module starts with a
//! `//!` doc, and nothing cites a file outside the repository (a clone has only what is
//! in it; the domain is described in docs/domain/).

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace")
        .to_owned()
}

/// Every file under `dir` whose name ends with one of `extensions`, skipping build
/// output, data and hidden folders.
fn files(dir: &Path, extensions: &[&str], found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the folder is readable") {
        let path = entry.expect("the entry is readable").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            // Cargo marks every build folder (whatever its name) with CACHEDIR.TAG.
            if !(name.starts_with('.')
                || name == "target"
                || name == "data"
                || name == "node_modules"
                || path.join("CACHEDIR.TAG").exists())
            {
                files(&path, extensions, found);
            }
        } else if extensions.iter().any(|e| name.ends_with(e)) {
            found.push(path);
        }
    }
}

#[test]
fn every_rust_module_starts_with_its_documentation() {
    let mut sources = Vec::new();
    files(&repository(), &[".rs"], &mut sources);
    assert!(sources.len() > 50, "the walk found the sources");
    let undocumented: Vec<_> = sources
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).expect("a source file is text");
            !text.starts_with("//!")
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules without a //! doc: {undocumented:?}"
    );
}

#[test]
fn nothing_in_the_repository_cites_a_file_outside_it() {
    let mut texts = Vec::new();
    files(
        &repository(),
        &[".rs", ".md", ".toml", ".sql", ".sh"],
        &mut texts,
    );
    // Spelled in parts, so that this check does not cite what it looks for.
    let outside = [
        concat!("..", "/", "shared"),
        concat!("DOMAIN", ".md"),
        concat!("NOTES", ".md"),
        concat!("STYLE", ".md"),
    ];
    let citing: Vec<String> = texts
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            let cited: Vec<&str> = outside
                .iter()
                .copied()
                .filter(|o| text.contains(o))
                .collect();
            (!cited.is_empty()).then(|| format!("{} cites {cited:?}", path.display()))
        })
        .collect();
    assert!(citing.is_empty(), "{citing:#?}");
}
