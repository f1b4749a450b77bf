//! `patron-etl migrate`: an export source streamed straight into the import pipeline.
//!
//! The source ([`crate::export::source::PatronRows`]) runs on its own thread and runtime and hands
//! rows over a bounded channel to a [`RowReader`], so the import sees an ordinary input file whose
//! header is the export's columns — the same preview, report, rejects and exit codes, and no file in
//! between. Memory stays flat: at most [`CHANNEL_ROWS`] rows wait between the two sides.

use crate::export::source::PatronRows;
use crate::read::{InputFormat, ReadError, Record, RowReader};
use crate::target::Target;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// Rows buffered between the source and the import.
pub const CHANNEL_ROWS: usize = 2_000;

/// Where a migration reads from.
#[derive(Debug, Clone)]
pub struct MigrateSource {
    /// Source target name (`sandbox:folio` or a config entry).
    pub from: String,
    /// ILLiad only: user names or external ids to read.
    pub ids: Option<Vec<String>>,
}

/// The source's rows as an input file for the import pipeline.
pub struct SourceReader {
    header: Vec<String>,
    /// How many patrons the source says it holds (FOLIO `totalRecords`, Libib `total`, else the
    /// number of ids asked for), if known: the migration's progress total.
    pub expected: Option<u64>,
    rx: Receiver<Result<Record, ReadError>>,
    /// Source name, for reasons.
    from: String,
    /// Fields the export layout has no column for, with counts (filled when the source ends).
    uncovered: Arc<Mutex<Vec<(String, u64)>>>,
}

impl Iterator for SourceReader {
    type Item = Result<Record, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        // Disconnected = the source finished (or failed, after sending its error).
        self.rx.recv().ok()
    }
}

impl RowReader for SourceReader {
    fn headers(&self) -> &[String] {
        &self.header
    }
    fn format(&self) -> InputFormat {
        InputFormat::Csv
    }
    fn left_out(&self) -> Vec<(String, u64, String)> {
        let why = format!("the export of {} has no column for it", self.from);
        self.uncovered
            .lock()
            .map(|u| {
                u.iter()
                    .map(|(f, n)| (f.clone(), *n, why.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Connects to the source on a thread of its own and returns its rows once the header is known.
/// Connection problems (unreachable, refused credentials) come back here, before any row.
pub async fn open(target: Target, ids: Option<Vec<String>>) -> anyhow::Result<SourceReader> {
    type Opened = anyhow::Result<(Vec<String>, Option<u64>)>;
    let (header_tx, header_rx) = tokio::sync::oneshot::channel::<Opened>();
    // The source's paced waits end with the import's (Ctrl-C): its flag goes along.
    let stop = crate::journal::interrupt::Stop::current().unwrap_or_default();
    let (tx, rx) = sync_channel::<Result<Record, ReadError>>(CHANNEL_ROWS);
    let label = PathBuf::from(target.name.clone());
    let from = target.name.clone();
    let uncovered = Arc::new(Mutex::new(Vec::new()));
    let uncovered_in_source = Arc::clone(&uncovered);
    // A source read by id (ILLiad) announces no total: the ids count. The total is also what
    // the destination's planner weighs a snapshot against (Libib: paging every patron once
    // instead of one lookup per row).
    let id_count = ids.as_ref().map(|v| v.len() as u64);
    std::thread::Builder::new()
        .name("migrate-source".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = header_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(stop.scope(async move {
                let mut rows = match PatronRows::connect(&target, ids).await {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = header_tx.send(Err(e));
                        return;
                    }
                };
                // The first page comes before the header is handed over: it tells the total.
                let mut first = Some(rows.next_page().await);
                let expected = rows.stats().expected.or(id_count);
                if header_tx.send(Ok((rows.header(), expected))).is_err() {
                    return;
                }
                loop {
                    let next = match first.take() {
                        Some(page) => page,
                        None => rows.next_page().await,
                    };
                    match next {
                        Ok(Some(page)) => {
                            for row in page {
                                if tx.send(Ok(Record::Row(row))).is_err() {
                                    return; // the import stopped reading (--limit, error)
                                }
                            }
                        }
                        Ok(None) => {
                            if let Ok(mut u) = uncovered_in_source.lock() {
                                *u = rows.stats().uncovered.0.clone().into_iter().collect();
                            }
                            tracing::info!(
                                requests = rows.requests(),
                                "migration source exhausted"
                            );
                            return;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(ReadError::Invalid {
                                path: label.clone(),
                                reason: format!("reading the source failed: {e:#}"),
                            }));
                            return;
                        }
                    }
                }
            }));
        })?;
    let (header, expected) = header_rx
        .await
        .map_err(|_| anyhow::anyhow!("the migration source stopped before connecting"))??;
    Ok(SourceReader {
        header,
        expected,
        rx,
        from,
        uncovered,
    })
}
