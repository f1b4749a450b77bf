//! `--notify-command CMD` (or `command` in a `[notify]` table of `patron-etl.toml`): when an
//! import, migrate, resume, undo or export ends, CMD runs through the shell with the run's summary
//! JSON on stdin, so a cron job can mail or post it (`mail -s "patron-etl" staff@example.edu`,
//! `curl -sS -H 'Content-Type: application/json' --data-binary @- https://hooks.example.edu/x`).
//! Nothing is sent by patron-etl itself.
//!
//! Invariants: the JSON holds counts, names of files and the run folder — never credentials
//! (the summary has none); the command's output goes to stderr so stdout stays the summary; a
//! command that cannot start or exits non-zero is reported on stderr and does not change the
//! run's exit code (the run's outcome is what the code says).

use crate::exit::UsageError;
use serde::Deserialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `[notify]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyTable {
    /// Shell command that receives the summary JSON on stdin.
    pub command: Option<String>,
}

/// A notify command to run when the run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The command, run with `sh -c`.
    pub command: String,
}

/// Why the command did not take the summary.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// It could not be started, or its stdin closed early.
    #[error("notify command could not run: {0}")]
    Spawn(#[from] std::io::Error),
    /// It ran and failed.
    #[error("notify command exited with {0}")]
    Failed(std::process::ExitStatus),
}

impl Notify {
    /// The command from `--notify-command`, else from `[notify] command` in the config file
    /// (`config`, or `patron-etl.toml` in the working directory when that exists).
    pub fn resolve(
        flag: Option<String>,
        config: Option<&Path>,
    ) -> Result<Option<Notify>, UsageError> {
        if let Some(c) = flag {
            return Ok(Notify::new(c));
        }
        let path = match config {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from("patron-etl.toml");
                if !p.exists() {
                    return Ok(None);
                }
                p
            }
        };
        Ok(crate::target::notify_table(&path)?
            .and_then(|t| t.command)
            .and_then(Notify::new))
    }

    fn new(command: String) -> Option<Notify> {
        let command = command.trim().to_string();
        (!command.is_empty()).then_some(Notify { command })
    }

    /// Runs the command with `summary` (pretty JSON and a newline) on stdin and waits for it.
    pub fn send(&self, summary: &Value) -> Result<(), NotifyError> {
        let mut text = serde_json::to_vec_pretty(summary).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut child = shell(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that ignores its input (e.g. `true`) may close stdin first: not an error.
            match stdin.write_all(&text) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
        }
        let status = child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(NotifyError::Failed(status))
        }
    }

    /// The summary of a finished run: its folder's `summary.json`, with the command, the exit
    /// code and where the run folder and its `report.html` are.
    pub fn run_summary(command: &str, run_folder: &Path, exit_code: u8) -> Value {
        let mut json = std::fs::read(run_folder.join("summary.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Default::default()));
        if let Some(m) = json.as_object_mut() {
            m.insert("command".into(), command.into());
            m.insert("exit_code".into(), exit_code.into());
            m.insert("run_folder".into(), run_folder.display().to_string().into());
            let html = run_folder.join(crate::import::REPORT_HTML);
            if html.exists() {
                m.insert("report".into(), html.display().to_string().into());
            }
        }
        json
    }

    /// The summary of a run that stopped with an error (no summary.json to send).
    pub fn error_summary(command: &str, err: &anyhow::Error) -> Value {
        serde_json::json!({
            "command": command,
            "exit_code": crate::exit::code_for(err),
            "error": format!("{err:#}"),
        })
    }
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut c = Command::new("cmd");
    c.arg("/C").arg(command);
    c
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_command_reads_the_json_and_failures_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let n = Notify {
            command: format!("cat > '{}'", out.display()),
        };
        n.send(&serde_json::json!({"rows": 3})).unwrap();
        let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(got["rows"], 3);
        let bad = Notify {
            command: "exit 7".into(),
        };
        assert!(matches!(
            bad.send(&Value::Null),
            Err(NotifyError::Failed(s)) if s.code() == Some(7)
        ));
        // A command that never reads its input still succeeds.
        Notify {
            command: "true".into(),
        }
        .send(&serde_json::json!({"big": "x".repeat(1 << 20)}))
        .unwrap();
    }

    #[test]
    fn flag_wins_and_blank_is_none() {
        assert_eq!(Notify::resolve(Some("  ".into()), None).unwrap(), None);
        assert_eq!(
            Notify::resolve(Some("mail x".into()), Some(Path::new("/nonexistent")))
                .unwrap()
                .map(|n| n.command),
            Some("mail x".into())
        );
    }
}
