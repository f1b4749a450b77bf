//! Run folders: every run leaves `<home>/runs/<run-id>/` (owner-only) with its report,
//! rejects file, log and summary. The home directory — journal, run folders, built-in sandbox
//! state — is `--home DIR`, else `PATRON_ETL_HOME`, else `./.patron-etl` ([`home`]).

use std::path::{Path, PathBuf};

/// The environment variable naming the home directory.
pub const HOME_ENV: &str = "PATRON_ETL_HOME";

/// The home directory: `flag` (`--home`, which the command line also fills from `PATRON_ETL_HOME`), else
/// `./.patron-etl`; made absolute so a run recorded from one directory is found from another.
pub fn home(flag: Option<&Path>) -> std::io::Result<PathBuf> {
    let dir = match flag {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from(".patron-etl"),
    };
    std::path::absolute(dir)
}

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

/// Creates the file `path` owner-only (0600 on Unix) if it does not exist; an existing file is
/// left as it is. Used for the journal before SQLite opens it (SQLite gives its WAL and
/// shared-memory files the same permissions), whoever opens it first.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map(drop)
}

/// Makes `path` owner-only (0700 for a folder, 0600 for a file) if anyone else may read it,
/// saying so on the terminal; a no-op where it is already private, missing, or not on Unix.
pub fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.file_type().is_symlink() {
            return;
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(want)) {
            Ok(()) => eprintln!(
                "note: {} was readable by others ({mode:o}); made it owner-only ({want:o}): it \
                 holds personal data",
                path.display()
            ),
            Err(e) => eprintln!(
                "warning: {} is readable by others ({mode:o}) and cannot be made owner-only: {e}",
                path.display()
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Tightens the home directory, `runs/`, every run folder and the journal files ([`tighten`]).
pub fn tighten_all(home: &Path) {
    let root = home.to_path_buf();
    tighten(&root);
    let runs = root.join("runs");
    tighten(&runs);
    if let Ok(entries) = std::fs::read_dir(&runs) {
        for e in entries.flatten() {
            tighten(&e.path());
        }
    }
    for f in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"] {
        tighten(&root.join(f));
    }
}

/// Run folders this process created (a command may create its folder before it opens the
/// journal); they are not history the journal should hold yet.
static CREATED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// The run folders under `home`'s `runs/` left by earlier processes.
pub fn existing_runs(home: &Path) -> usize {
    let ours = CREATED.lock().map(|c| c.clone()).unwrap_or_default();
    std::fs::read_dir(home.join("runs"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir() && !ours.contains(&e.path()))
                .count()
        })
        .unwrap_or(0)
}

impl RunDir {
    /// Creates a new run folder under `<base>/runs/` (`base`: the home directory).
    pub fn create(base: &Path) -> std::io::Result<RunDir> {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let suffix: u16 = rand::random();
        let id = format!("{stamp}-{suffix:04x}");
        create_private_dir(base)?;
        let path = base.join("runs").join(&id);
        create_private_dir(&path)?;
        if let Ok(mut c) = CREATED.lock() {
            c.push(path.clone());
        }
        Ok(RunDir { id, path })
    }

    /// A file inside the run folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}
