//! Function code from the project's files: a directory packaged into a deterministic zip
//! (or a `.zip` taken as it is), its SHA-256 in the form Lambda reports (`CodeSha256`), and
//! the bytes kept for the run so that create and update upload exactly what was planned.
//!
//! The zip depends only on the files' relative paths, contents and executable bits:
//! entries sorted by path, every timestamp 1980-01-01, permissions 0644 or 0755, no
//! extra fields. Rebuilding an unchanged directory (new mtimes, a fresh checkout) gives
//! the same digest, so it plans nothing; changing one byte of code plans an update.

use crate::model::Value;
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The most a function's zip may weigh when uploaded directly (`ZipFile`).
pub const MAX_DIRECT_UPLOAD: usize = 50 * 1024 * 1024;

/// Directory entries that are never code: version control, editor and interpreter caches.
const SKIPPED: &[&str] = &[".git", ".hg", ".svn", "__pycache__", ".DS_Store", ".venv"];

/// A packaged function: the zip and its digest.
#[derive(Clone, Debug)]
pub struct Package {
    /// Base64 of the SHA-256 of `bytes`, as Lambda's `CodeSha256`.
    pub sha256: String,
    pub bytes: Arc<Vec<u8>>,
}

/// Package `path` (a directory, or a `.zip` file used as it is).
pub fn package(path: &Path) -> Result<Package, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bytes = if meta.is_dir() {
        zip_dir(path)?
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    } else {
        return Err(format!(
            "{} is neither a directory nor a .zip file",
            path.display()
        ));
    };
    if bytes.len() > MAX_DIRECT_UPLOAD {
        return Err(format!(
            "{} packages to {:.1} MB; Lambda takes at most 50 MB uploaded directly: put the \
             zip in S3 and use `s3_bucket` and `s3_key` instead",
            path.display(),
            bytes.len() as f64 / 1_048_576.0
        ));
    }
    Ok(Package {
        sha256: digest(&bytes),
        bytes: Arc::new(bytes),
    })
}

/// Base64 of the SHA-256 of `bytes` (Lambda's `CodeSha256`).
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    aws_smithy_types::base64::encode(sha2::Sha256::digest(bytes))
}

/// Package `written` (relative to `root`) and keep its bytes for this run; the value a
/// `Kind::Package` property takes: `{path: <as written>, sha256: <digest>}`.
pub fn resolve(root: &Path, written: &str) -> Result<Value, String> {
    let path = root.join(written);
    if !path.exists() {
        return Err(format!(
            "`{written}` does not exist (paths are relative to the project root, {})",
            root.display()
        ));
    }
    let pkg = package(&path)?;
    let value = Value::Map(BTreeMap::from([
        ("path".to_string(), Value::Str(written.to_string())),
        ("sha256".to_string(), Value::Str(pkg.sha256.clone())),
    ]));
    if let Ok(mut cache) = cache().lock() {
        cache.insert(pkg.sha256, (path, pkg.bytes));
    }
    Ok(value)
}

/// The zip a `Kind::Package` property stands for, as it was when the stack was loaded.
/// Refuses when the files changed since: what is uploaded is always what was planned.
pub fn bytes(code: &Value) -> Result<Arc<Vec<u8>>, String> {
    let sha = match code {
        Value::Map(m) => match m.get("sha256") {
            Some(Value::Str(s)) => s.clone(),
            _ => return Err("the code property has no sha256".into()),
        },
        _ => return Err("the code property is not a packaged path".into()),
    };
    let (path, bytes) = cache()
        .lock()
        .map_err(|_| "the package cache is unusable".to_string())?
        .get(&sha)
        .cloned()
        .ok_or_else(|| format!("no package with digest {sha} was built in this run"))?;
    // The bytes are the ones planned; say so if the files moved on since.
    if let Ok(now) = package(&path) {
        if now.sha256 != sha {
            return Err(format!(
                "{} changed after it was planned (planned {sha}, now {}): plan again",
                path.display(),
                now.sha256
            ));
        }
    }
    Ok(bytes)
}

/// Hex of the SHA-256 of `bytes`, as `sha256:<hex>`: how sources are fingerprinted.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

/// A `CodeSha256` (base64) in the `sha256:<hex>` form of `sha256_hex`.
pub fn base64_to_hex(b64: &str) -> String {
    match aws_smithy_types::base64::decode(b64) {
        Ok(bytes) => format!("sha256:{}", hex(&bytes)),
        Err(_) => b64.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type Cache = Mutex<BTreeMap<String, (PathBuf, Arc<Vec<u8>>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// A deterministic zip of every file under `dir`.
fn zip_dir(dir: &Path) -> Result<Vec<u8>, String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path) in files {
        let data =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mode = if executable(&path) { 0o755 } else { 0o644 };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode);
        zip.start_file(name.as_str(), opts)
            .and_then(|()| zip.write_all(&data).map_err(Into::into))
            .map_err(|e| format!("cannot package {}: {e}", path.display()))?;
    }
    zip.finish()
        .map(Cursor::into_inner)
        .map_err(|e| format!("cannot package {}: {e}", dir.display()))
}

/// Every file below `dir`, with its path relative to `root` in zip form (`a/b.py`).
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let path = entry.path();
        let meta =
            std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), path));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(dir: &Path) {
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(
            dir.join("handler.py"),
            "def handler(e, c):\n    return {}\n",
        )
        .unwrap();
        std::fs::write(dir.join("lib/util.py"), "X = 1\n").unwrap();
    }

    #[test]
    fn an_unchanged_directory_packages_to_the_same_digest_whatever_its_mtimes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        worker(a.path());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        worker(b.path());
        std::fs::create_dir_all(b.path().join("__pycache__")).unwrap();
        std::fs::write(b.path().join("__pycache__/handler.pyc"), "junk").unwrap();
        assert_eq!(
            package(a.path()).unwrap().sha256,
            package(b.path()).unwrap().sha256
        );
    }

    #[test]
    fn one_changed_byte_changes_the_digest() {
        let a = tempfile::tempdir().unwrap();
        worker(a.path());
        let before = package(a.path()).unwrap().sha256;
        std::fs::write(a.path().join("lib/util.py"), "X = 2\n").unwrap();
        assert_ne!(before, package(a.path()).unwrap().sha256);
    }

    #[test]
    fn the_digest_is_base64_sha256_of_the_zip_as_lambda_reports_it() {
        let a = tempfile::tempdir().unwrap();
        worker(a.path());
        let p = package(a.path()).unwrap();
        assert_eq!(p.sha256, digest(&p.bytes));
        assert_eq!(p.sha256.len(), 44);
        assert!(p.bytes.starts_with(b"PK\x03\x04"));
    }

    #[test]
    fn planned_bytes_are_refused_once_the_files_changed() {
        let root = tempfile::tempdir().unwrap();
        worker(&root.path().join("w"));
        let v = resolve(root.path(), "w").unwrap();
        assert!(bytes(&v).is_ok());
        std::fs::write(root.path().join("w/handler.py"), "changed").unwrap();
        let e = bytes(&v).unwrap_err();
        assert!(e.contains("changed after it was planned"), "{e}");
    }

    #[test]
    fn a_missing_path_names_the_project_root() {
        let root = tempfile::tempdir().unwrap();
        let e = resolve(root.path(), "workers/nope").unwrap_err();
        assert!(e.contains("`workers/nope` does not exist"), "{e}");
    }
}
