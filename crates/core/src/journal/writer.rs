//! The journal's single writer: one thread owning the only writing connection during a run.
//! Jobs queue on a channel; the thread runs whatever is queued in one transaction (group
//! commit), so the async pipeline never blocks on SQLite and a chunk costs one fsync.
//!
//! Invariant: jobs commit in the order submitted, so when an awaited [`JournalWriter::commit`]
//! returns, every job submitted before it is durable too. After a failed transaction the writer
//! refuses everything that follows (the run must stop writing to the target).

use super::JournalError;
use rusqlite::{Connection, Transaction};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A unit of journal work, run inside a transaction.
pub type Job = Box<dyn FnOnce(&Transaction<'_>) -> rusqlite::Result<()> + Send>;

struct Msg {
    job: Job,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// Handle to the writer thread.
pub struct JournalWriter {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<JoinHandle<Result<(), String>>>,
    path: PathBuf,
}

/// Most jobs grouped into one transaction.
const GROUP: usize = 64;

fn apply(conn: &mut Connection, batch: &mut [Msg]) -> rusqlite::Result<()> {
    let t = conn.transaction()?;
    for m in batch.iter_mut() {
        let job = std::mem::replace(&mut m.job, Box::new(|_| Ok(())));
        job(&t)?;
    }
    t.commit()
}

fn serve(mut conn: Connection, rx: mpsc::Receiver<Msg>) -> Result<(), String> {
    let mut broken: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut waiters = Vec::new();
        let result = match &broken {
            Some(e) => Err(e.clone()),
            None => apply(&mut conn, &mut batch).map_err(|e| e.to_string()),
        };
        for m in batch {
            if let Some(d) = m.done {
                waiters.push(d);
            }
        }
        if let Err(e) = &result {
            broken.get_or_insert_with(|| e.clone());
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
    match broken {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl JournalWriter {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection, path: PathBuf) -> Result<JournalWriter, JournalError> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || serve(conn, rx))
            .map_err(|source| JournalError::Io {
                path: path.display().to_string(),
                source,
            })?;
        Ok(JournalWriter {
            tx: Some(tx),
            thread: Some(thread),
            path,
        })
    }

    fn send(&self, msg: Msg) -> Result<(), JournalError> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(msg).ok())
            .ok_or_else(|| JournalError::Closed(format!("{} is closed", self.path.display())))
    }

    /// Queues a job without waiting (its failure surfaces at the next [`commit`](Self::commit)).
    pub fn submit(&self, job: Job) -> Result<(), JournalError> {
        self.send(Msg { job, done: None })
    }

    /// Queues a job and waits until it (and everything before it) is committed.
    pub async fn commit(&self, job: Job) -> Result<(), JournalError> {
        let (done, wait) = oneshot::channel();
        self.send(Msg {
            job,
            done: Some(done),
        })?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(JournalError::Closed(e)),
            Err(_) => Err(JournalError::Closed("the writer thread ended".into())),
        }
    }

    /// Flushes everything queued and stops the thread.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.tx.take();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => Err(JournalError::Closed(e)),
            Some(Err(_)) => Err(JournalError::Closed("the writer thread panicked".into())),
            _ => Ok(()),
        }
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
