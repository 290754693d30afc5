//! Finding the project: like git and cargo, the first directory, from the current one
//! upwards, that holds `environments/` or `stacks/`.

use std::path::{Path, PathBuf};

/// Whether `dir` looks like a project root.
pub fn is_project(dir: &Path) -> bool {
    dir.join("environments").is_dir() || dir.join("stacks").is_dir()
}

/// The first of `start` and its parents that is a project root, or every directory tried.
pub fn find_root(start: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let mut tried = Vec::new();
    for dir in start.ancestors() {
        if is_project(dir) {
            return Ok(dir.to_path_buf());
        }
        tried.push(dir.to_path_buf());
    }
    Err(tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_project_above() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("project");
        let deep = root.join("docs/notes");
        std::fs::create_dir_all(&deep)?;
        std::fs::create_dir_all(root.join("stacks"))?;
        assert_eq!(find_root(&deep), Ok(root.clone()));
        assert_eq!(find_root(&root), Ok(root.clone()));
        let tried = find_root(dir.path()).err().unwrap_or_default();
        assert_eq!(tried.first().map(PathBuf::as_path), Some(dir.path()));
        Ok(())
    }
}
