//! Run folders: every run leaves `.patron-etl/runs/<run-id>/` (owner-only) with its report,
//! rejects file, log and summary.

use std::path::{Path, PathBuf};

/// A run's identity and folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// `YYYYMMDD-HHMMSS-xxxx`.
    pub id: String,
    /// The folder.
    pub path: PathBuf,
}

/// Creates a directory (and parents) with mode 0700 on Unix.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}

impl RunDir {
    /// Creates a new run folder under `<base>/.patron-etl/runs/`.
    pub fn create(base: &Path) -> std::io::Result<RunDir> {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let suffix: u16 = rand::random();
        let id = format!("{stamp}-{suffix:04x}");
        let root = base.join(".patron-etl");
        create_private_dir(&root)?;
        let path = root.join("runs").join(&id);
        create_private_dir(&path)?;
        Ok(RunDir { id, path })
    }

    /// A file inside the run folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}
