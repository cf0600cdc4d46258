//! Crash-safe file writes: content goes to a temporary file in the destination folder
//! and is renamed into place only when complete, so a reader never sees half a file and
//! an earlier complete file survives a failed rewrite.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Creates `path`'s parent folders, calls `write` on a temporary file beside `path`,
/// syncs it and renames it over `path`. On any error the temporary file is removed and
/// `path` is left as it was.
pub fn write_atomically<F>(
    path: &Path,
    write: F,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
{
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(".mcflow-tmp-")
        .tempfile_in(dir)?;
    let (file, tmp_path) = tmp.into_parts();
    let mut writer = BufWriter::new(file);
    write(&mut writer)?;
    writer.flush()?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    // Temporary files are created private (0600); a finished table is as readable as any
    // other file the user writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    file.sync_all()?;
    tmp_path.persist(path)?;
    Ok(())
}

/// Writes bytes atomically.
pub fn write_bytes_atomically(
    path: &Path,
    bytes: &[u8],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    write_atomically(path, |w| {
        w.write_all(bytes)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub").join("f.txt");
        write_bytes_atomically(&path, b"old").expect("write");
        let err = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err("disk on fire".into())
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        let entries: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("ls")
            .collect();
        assert_eq!(entries.len(), 1, "temporary file left behind");
    }
}
