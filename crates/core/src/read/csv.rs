//! Streaming CSV reader: encoding sniffing, delimiter detection, header validation, one
//! [`Record`] per physical record.
//!
//! Invariants:
//! - Memory is constant in the file size: only a bounded prefix (for sniffing) and the current
//!   record are held.
//! - `line` is the 1-based physical line the record starts on (the header is normally line 1);
//!   LF, CRLF and a lone CR (classic Mac) each count as one line break, inside quotes too.
//! - Header names are trimmed (BOM stripped) and must be non-empty and unique; cells are not
//!   trimmed.
//! - A cell that is a spreadsheet formula behind the `'` guard exports and reports write
//!   ([`crate::report::cell::neutralise`]) is read without that `'`; any other `'` is data.
//! - Records whose fields are all blank are skipped; records with the wrong field count or
//!   invalid UTF-8 are [`Record::Bad`], and reading goes on.
//! - A quote left open swallows the lines after it into one field; the reader says so
//!   ([`RowReader::swallowed`]) when the file ends inside quotes (odd count of `"`, and the last
//!   record holds a line break) or a field spans more than [`SWALLOW_BREAKS`] line breaks.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Chain, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::csv::{ByteRecord, ReaderBuilder};
use encoding_rs::Encoding;

use super::encoding;
use super::{BadRow, InputFormat, ReadError, ReadOptions, Record, RowReader, SourceRow};

/// Bytes of decoded text inspected to detect the delimiter.
const DELIMITER_SNIFF_LEN: usize = 16 * 1024;
/// At most this many records are inspected to detect the delimiter.
const DELIMITER_SNIFF_LINES: usize = 20;
/// A field holding more line breaks than this may have swallowed lines (a quote left open);
/// real multi-line cells (addresses, notes) hold a few.
pub const SWALLOW_BREAKS: usize = 4;
/// Candidate delimiters, in order of preference on a tie.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

type Source = LineTracker<Chain<Cursor<Vec<u8>>, Box<dyn Read + Send>>>;

/// A maximal run of CR/LF bytes in the decoded stream.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
    /// Number of line breaks before `end`.
    newlines_at_end: u64,
}

/// Passes bytes through while remembering where the runs of line breaks are, so the physical
/// line a record starts on can be computed from the byte offset where the parser resumed.
///
/// (`csv::Position` is taken *before* skipped blank lines and before the `\n` of a CRLF, so
/// it can be one or more lines short.) Only runs not yet passed by the parser are kept, which
/// bounds memory by the parser's read-ahead.
struct LineTracker<R> {
    inner: R,
    offset: u64,
    /// Line breaks seen so far (LF, CRLF, or a lone CR).
    newlines: u64,
    prev_cr: bool,
    run_start: Option<u64>,
    runs: VecDeque<Run>,
    /// Newlines before the end of the last run dropped from `runs`.
    base_newlines: u64,
    /// `"` bytes seen (odd at the end: a quote was left open).
    quotes: u64,
    /// Where the record being parsed starts (the parser's position).
    record_start: u64,
    /// The most bytes one record may take; reading further is an error (memory stays bounded).
    record_limit: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            newlines: 0,
            prev_cr: false,
            run_start: None,
            runs: VecDeque::new(),
            base_newlines: 0,
            quotes: 0,
            record_start: 0,
            record_limit: u64::MAX,
        }
    }

    /// 1-based line of the first byte at or after `pos` that is not CR or LF. Calls must come
    /// with non-decreasing `pos`.
    fn line_at(&mut self, pos: u64) -> u64 {
        while let Some(front) = self.runs.front() {
            if front.end <= pos {
                self.base_newlines = front.newlines_at_end;
                self.runs.pop_front();
            } else if front.start <= pos {
                return front.newlines_at_end + 1;
            } else {
                break;
            }
        }
        if let Some(start) = self.run_start {
            if start <= pos {
                // Inside a run that reaches the end of what has been read: no content follows.
                return self.newlines + 1;
            }
        }
        self.base_newlines + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut i = 0;
        while i < n {
            // Skip eight bytes at a time while nothing can change but the offset: no run of line
            // breaks is open, the previous byte was no CR, and the word holds no CR or LF.
            if self.run_start.is_none() && !self.prev_cr {
                while i + 8 <= n {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&buf[i..i + 8]);
                    let word = u64::from_ne_bytes(word);
                    if has_line_break(word) || has_byte(word, b'"') {
                        break;
                    }
                    i += 8;
                    self.offset += 8;
                }
                if i >= n {
                    break;
                }
            }
            let b = buf[i];
            i += 1;
            self.quotes += u64::from(b == b'"');
            // Count each LF, and each CR not followed by LF (classic Mac line end), once.
            self.newlines += u64::from(b == b'\n' || self.prev_cr);
            self.prev_cr = b == b'\r';
            if b == b'\n' || b == b'\r' {
                if self.run_start.is_none() {
                    self.run_start = Some(self.offset);
                }
            } else if let Some(start) = self.run_start.take() {
                self.runs.push_back(Run {
                    start,
                    end: self.offset,
                    newlines_at_end: self.newlines,
                });
            }
            self.offset += 1;
        }
        let taken = self.offset.saturating_sub(self.record_start);
        if taken > self.record_limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a record longer than {} (a quote left open, or a cell far over the cell \
                     limit of {}, set by PATRON_ETL_MAX_CELL_BYTES); reading stopped",
                    super::limits::size_text(self.record_limit),
                    super::limits::size_text(super::limits::max_cell_bytes())
                ),
            ));
        }
        Ok(n)
    }
}

/// The most bytes a record of `columns` fields may take: each at the cell limit, plus slack for
/// the parser's read-ahead.
fn record_limit(columns: usize) -> u64 {
    super::limits::max_cell_bytes()
        .saturating_mul(columns as u64 + 1)
        .saturating_add(128 * 1024)
}

/// True when some byte of `word` is CR or LF (the classic "has a zero byte" bit trick, applied to
/// the word XOR-ed with each).
fn has_line_break(word: u64) -> bool {
    has_byte(word, b'\n') || has_byte(word, b'\r')
}

/// True when some byte of `word` is `b`.
fn has_byte(word: u64, b: u8) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LOW * u64::from(b));
    x.wrapping_sub(LOW) & !x & HIGH != 0
}

/// A streaming reader over one delimited text file.
pub struct CsvReader {
    path: PathBuf,
    file: Arc<str>,
    headers: Vec<String>,
    rdr: ::csv::Reader<Source>,
    record: ByteRecord,
    delimiter: u8,
    encoding: &'static Encoding,
    done: bool,
    /// Cells handed back by [`RowReader::recycle`], reused for the next row.
    spare: Vec<String>,
    /// The record with the most line breaks in one field beyond [`SWALLOW_BREAKS`]: (line, breaks).
    widest: Option<(u64, usize)>,
    /// Whether the last record read holds a line break in a field.
    last_has_break: bool,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("delimiter", &(self.delimiter as char))
            .field("encoding", &self.encoding.name())
            .finish()
    }
}

impl CsvReader {
    /// Opens `path` as delimited text. `default_delimiter` is used when `opts.delimiter` is
    /// `None` and is itself `None` for "detect" (the `.tsv`/`.psv` extensions pass tab/pipe).
    pub fn open(
        path: &Path,
        opts: &ReadOptions,
        default_delimiter: Option<u8>,
    ) -> Result<CsvReader, ReadError> {
        let invalid = |reason: String| ReadError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let open_err = |source| ReadError::Open {
            path: path.to_path_buf(),
            source,
        };
        let requested = match &opts.encoding {
            Some(label) => Some(
                encoding::for_label(label)
                    .ok_or_else(|| invalid(format!("unknown encoding '{label}'")))?,
            ),
            None => None,
        };

        let mut raw_file = File::open(path).map_err(open_err)?;
        let raw_prefix = read_prefix(&mut raw_file, encoding::SNIFF_LEN).map_err(open_err)?;
        if raw_prefix.is_empty() {
            return Err(invalid("file is empty".into()));
        }
        let whole_file = raw_prefix.len() < encoding::SNIFF_LEN;
        let enc = requested.unwrap_or_else(|| encoding::sniff(&raw_prefix, whole_file));
        let raw: Box<dyn Read + Send> = Box::new(Cursor::new(raw_prefix).chain(raw_file));
        let mut decoded: Box<dyn Read + Send> = Box::new(encoding::decoder(raw, enc));

        let text_prefix = read_prefix(&mut decoded, DELIMITER_SNIFF_LEN).map_err(open_err)?;
        let text_complete = text_prefix.len() < DELIMITER_SNIFF_LEN;
        if encoding::looks_binary(&text_prefix) {
            let hint = if encoding::is_utf16(enc) {
                ""
            } else {
                " (if it is UTF-16 without a byte-order mark, set the encoding)"
            };
            return Err(invalid(format!(
                "does not look like a text CSV file: it contains NUL or control bytes{hint}"
            )));
        }
        let delimiter = match opts.delimiter.or(default_delimiter) {
            Some(d) => d,
            None => detect_delimiter(&text_prefix, text_complete),
        };

        let mut source: Source = LineTracker::new(Cursor::new(text_prefix).chain(decoded));
        source.record_limit = record_limit(1024);
        let mut rdr = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(source);

        let mut record = ByteRecord::new();
        let headers = loop {
            let more = rdr
                .read_byte_record(&mut record)
                .map_err(|e| csv_error(path, 1, e))?;
            if !more {
                return Err(invalid("file is empty (no header row)".into()));
            }
            if !is_blank(&record) {
                break parse_headers(path, &record)?;
            }
        };
        rdr.get_mut().record_limit = record_limit(headers.len());

        Ok(CsvReader {
            path: path.to_path_buf(),
            file: Arc::from(path.to_string_lossy().as_ref()),
            headers,
            rdr,
            record,
            delimiter,
            encoding: enc,
            done: false,
            spare: Vec::new(),
            widest: None,
            last_has_break: false,
        })
    }

    /// The delimiter in use (given or detected).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The name of the encoding in use (given or sniffed), e.g. `UTF-8`, `windows-1252`.
    /// A byte-order mark in the file takes precedence over this.
    pub fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    fn take_record(&mut self, line: u64) -> Record {
        let breaks = self
            .record
            .iter()
            .map(|f| {
                f.iter().filter(|b| **b == b'\n').count()
                    + f.windows(2)
                        .filter(|w| w[0] == b'\r' && w[1] != b'\n')
                        .count()
                    + usize::from(f.last() == Some(&b'\r'))
            })
            .max()
            .unwrap_or(0);
        self.last_has_break = breaks > 0;
        if breaks > SWALLOW_BREAKS && self.widest.is_none_or(|(_, b)| breaks > b) {
            self.widest = Some((line, breaks));
        }
        // Reuse the buffers of a recycled row: no allocation per cell once they are large enough.
        let mut cells = std::mem::take(&mut self.spare);
        cells.truncate(self.record.len());
        let mut bad_utf8 = None;
        for (i, field) in self.record.iter().enumerate() {
            let text = match std::str::from_utf8(field) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => {
                    bad_utf8.get_or_insert(i + 1);
                    String::from_utf8_lossy(field)
                }
            };
            // A cell an export guarded against formula evaluation comes back as it was.
            let text = crate::report::cell::unguard(&text);
            match cells.get_mut(i) {
                Some(c) => {
                    c.clear();
                    c.push_str(text);
                }
                None => cells.push(text.to_string()),
            }
        }
        let max_cell = super::limits::max_cell_bytes();
        if let Some((i, big)) = cells
            .iter_mut()
            .enumerate()
            .find(|(_, c)| c.len() as u64 > max_cell)
        {
            let size = big.len() as u64;
            big.clear();
            return Record::Bad(BadRow {
                line,
                reason: format!(
                    "field {} holds {}, over the cell limit of {} (PATRON_ETL_MAX_CELL_BYTES)",
                    i + 1,
                    super::limits::size_text(size),
                    super::limits::size_text(max_cell)
                ),
                cells,
            });
        }
        if let Some(col) = bad_utf8 {
            return Record::Bad(BadRow {
                line,
                reason: format!(
                    "line {line}: field {col} is not valid UTF-8 (the start of the file looked \
                     like UTF-8; set the encoding if the file uses another one)"
                ),
                cells,
            });
        }
        if cells.len() != self.headers.len() {
            return Record::Bad(BadRow {
                line,
                reason: format!(
                    "expected {} fields (as in the header), found {}",
                    self.headers.len(),
                    cells.len()
                ),
                cells,
            });
        }
        Record::Row(SourceRow {
            file: Arc::clone(&self.file),
            sheet: None,
            line,
            cells,
        })
    }
}

impl Iterator for CsvReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let resume_at = self.rdr.position().byte();
            self.rdr.get_mut().record_start = resume_at;
            match self.rdr.read_byte_record(&mut self.record) {
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let line = self.rdr.get_mut().line_at(resume_at);
                    return Some(Err(csv_error(&self.path, line, e)));
                }
                Ok(true) => {
                    let line = self.rdr.get_mut().line_at(resume_at);
                    if is_blank(&self.record) {
                        continue;
                    }
                    return Some(Ok(self.take_record(line)));
                }
            }
        }
        None
    }
}

impl RowReader for CsvReader {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn format(&self) -> InputFormat {
        InputFormat::Csv
    }

    fn recycle(&mut self, cells: Vec<String>) {
        self.spare = cells;
    }

    fn swallowed(&self) -> Option<String> {
        let open = self.rdr.get_ref().quotes % 2 == 1;
        if self.done && open && self.last_has_break {
            return Some(format!(
                "{}: the file ends inside a quoted field (a quote was left open); the lines after \
                 it were read as part of one field",
                self.path.display()
            ));
        }
        self.widest.map(|(line, breaks)| {
            format!(
                "{}: line {line}: one field holds {breaks} line breaks; a quote left open may \
                 have swallowed the lines after it",
                self.path.display()
            )
        })
    }
}

/// Reads up to `limit` bytes (fewer only at end of input).
fn read_prefix<R: Read>(rdr: &mut R, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(64 * 1024));
    rdr.by_ref().take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn csv_error(path: &Path, line: u64, e: ::csv::Error) -> ReadError {
    match e.into_kind() {
        ::csv::ErrorKind::Io(source) => ReadError::Io {
            path: path.to_path_buf(),
            line,
            source,
        },
        other => ReadError::Invalid {
            path: path.to_path_buf(),
            reason: format!("line {line}: {other:?}"),
        },
    }
}

/// True when every field is empty or ASCII whitespace (e.g. a blank line or `,,,`).
fn is_blank(record: &ByteRecord) -> bool {
    record
        .iter()
        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
}

/// Validates and normalises the header record: trimmed, BOM stripped, non-empty, unique.
fn parse_headers(path: &Path, record: &ByteRecord) -> Result<Vec<String>, ReadError> {
    let invalid = |reason: String| ReadError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let mut headers: Vec<String> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let pos = i + 1;
        let text = std::str::from_utf8(field).map_err(|_| {
            invalid(format!(
                "header column {pos} is not valid UTF-8; set the encoding"
            ))
        })?;
        let name = crate::report::cell::unguard(text.trim_start_matches('\u{feff}')).trim();
        if name.is_empty() {
            return Err(invalid(format!("header column {pos} has an empty name")));
        }
        if let Some(first) = headers.iter().position(|h| h == name) {
            return Err(invalid(format!(
                "header column {pos} '{name}' duplicates column {}",
                first + 1
            )));
        }
        headers.push(name.to_owned());
    }
    Ok(headers)
}

/// Counts each candidate delimiter outside quotes in each of the first records of `text`.
/// The winner appears in the first record and has the same count in the most records
/// (ties: higher count, then the order comma, semicolon, tab, pipe). Comma when none appears.
pub fn detect_delimiter(text: &[u8], complete: bool) -> u8 {
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut non_blank = false;
    let mut finished_all = true;
    for &b in text {
        if b == b'"' {
            in_quotes = !in_quotes;
            non_blank = true;
        } else if (b == b'\n' || b == b'\r') && !in_quotes {
            if non_blank {
                lines.push(counts);
            }
            counts = [0; 4];
            non_blank = false;
            if lines.len() >= DELIMITER_SNIFF_LINES {
                finished_all = false;
                break;
            }
        } else if !in_quotes {
            if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
            if !b.is_ascii_whitespace() {
                non_blank = true;
            }
        }
    }
    // The last line counts only if it is known to be whole.
    if finished_all && complete && non_blank && !in_quotes {
        lines.push(counts);
    }
    if lines.is_empty() && non_blank {
        lines.push(counts);
    }
    let Some(first) = lines.first() else {
        return b',';
    };
    let mut best: Option<(usize, usize, usize)> = None; // (agreeing lines, count, index)
    for (i, &header_count) in first.iter().enumerate() {
        if header_count == 0 {
            continue;
        }
        let agreeing = lines.iter().filter(|l| l[i] == header_count).count();
        let better = match best {
            None => true,
            Some((a, c, _)) => (agreeing, header_count) > (a, c),
        };
        if better {
            best = Some((agreeing, header_count, i));
        }
    }
    best.map_or(b',', |(_, _, i)| CANDIDATES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n", true), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1;2,5;3\n", true), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc\n1\t2\t3\n", true), b'\t');
        assert_eq!(detect_delimiter(b"a|b|c\n1|2|3\n", true), b'|');
        assert_eq!(detect_delimiter(b"single\nvalue\n", true), b',');
        assert_eq!(detect_delimiter(b"", true), b',');
        // Classic Mac line ends split lines too: the comma is the consistent one per line,
        // although semicolons are more frequent overall.
        assert_eq!(detect_delimiter(b"a,b;c;d;e;f\r1,2\r3,4\r", true), b',');
    }

    #[test]
    fn ignores_delimiters_inside_quotes() {
        // Three commas inside quotes in the header, two semicolons outside.
        let text = b"\"Name, Last, First, Middle\";Email;Class\n\"Doe, J\";j@x.org;A\n";
        assert_eq!(detect_delimiter(text, true), b';');
        // Quoted newline does not split the record.
        let text = b"a;b\n\"x\ny,z,w\";2\n";
        assert_eq!(detect_delimiter(text, true), b';');
    }

    #[test]
    fn prefers_consistent_delimiter() {
        // Header has one comma and two semicolons, but the commas are consistent per line
        // while semicolons are not.
        let text = b"a;b;c,d\n1,2\n3,4\n5,6\n";
        assert_eq!(detect_delimiter(text, true), b',');
    }

    #[test]
    fn incomplete_last_line_is_ignored() {
        let text = b"a,b\n1,2\n3;4;5;6;7";
        assert_eq!(detect_delimiter(text, false), b',');
    }

    #[test]
    fn headers_are_validated() {
        let p = Path::new("x.csv");
        let ok = parse_headers(p, &ByteRecord::from(vec!["\u{feff} ID ", "Name"]));
        assert_eq!(ok.ok(), Some(vec!["ID".to_string(), "Name".to_string()]));
        let dup = parse_headers(p, &ByteRecord::from(vec!["a", "b", " a"]));
        let msg = dup.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("column 3 'a' duplicates column 1"), "{msg}");
        let empty = parse_headers(p, &ByteRecord::from(vec!["a", "  ", "c"]));
        let msg = empty.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("header column 2 has an empty name"), "{msg}");
    }

    #[test]
    fn line_tracker_finds_record_starts() {
        let text = b"h1,h2\r\n\r\n1,2\n\n\n\"a\nb\",3\r\nx";
        let mut t = LineTracker::new(&text[..]);
        let mut sink = Vec::new();
        t.read_to_end(&mut sink).ok();
        assert_eq!(t.line_at(0), 1);
        // Parser resumes on the '\n' of the header's CRLF; the next record is on line 3.
        assert_eq!(t.line_at(6), 3);
        assert_eq!(t.line_at(13), 6);
        // The quoted newline in "a\nb" makes the last record start on line 8.
        assert_eq!(t.line_at(23), 8);
        assert_eq!(t.line_at(24), 8);
    }

    #[test]
    fn line_tracker_skips_long_lines_in_words() {
        // Long lines exercise the eight-bytes-at-a-time skip; breaks land at every alignment.
        let mut text = Vec::new();
        let mut starts = vec![0u64];
        for len in 1..40 {
            text.extend(std::iter::repeat_n(b'x', len));
            text.extend_from_slice(if len % 3 == 0 {
                b"\r\n"
            } else if len % 3 == 1 {
                b"\n"
            } else {
                b"\r"
            });
            starts.push(text.len() as u64);
        }
        text.extend_from_slice(b"end");
        let mut t = LineTracker::new(&text[..]);
        let mut sink = Vec::new();
        t.read_to_end(&mut sink).ok();
        assert_eq!(sink, text);
        for (i, &start) in starts.iter().enumerate() {
            assert_eq!(t.line_at(start), i as u64 + 1, "record {i}");
        }
        assert!(has_line_break(u64::from_ne_bytes(*b"abcdefg\n")));
        assert!(has_line_break(u64::from_ne_bytes(*b"\rbcdefgh")));
        assert!(!has_line_break(u64::from_ne_bytes(*b"abc\x0b\x0cdef")));
    }

    #[test]
    fn line_tracker_counts_lone_cr() {
        let text = b"h\r1\r\r2\r\n3";
        let mut t = LineTracker::new(&text[..]);
        let mut sink = Vec::new();
        t.read_to_end(&mut sink).ok();
        assert_eq!(t.line_at(0), 1);
        assert_eq!(t.line_at(2), 2);
        assert_eq!(t.line_at(4), 4);
        assert_eq!(t.line_at(7), 5);
    }

    fn swallowed(text: &str) -> (usize, Option<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("r.csv");
        std::fs::write(&p, text).expect("write");
        let mut r = CsvReader::open(&p, &ReadOptions::default(), None).expect("open");
        let n = r.by_ref().count();
        (n, r.swallowed())
    }

    #[test]
    fn an_open_quote_is_reported_as_possibly_swallowed_lines() {
        let mut rows = String::from("id,name\n");
        for i in 0..20 {
            rows.push_str(&format!("{i},n{i}\n"));
        }
        assert_eq!(swallowed(&rows), (20, None));
        let multi = format!("{rows}21,\"two\nlines\"\n");
        assert_eq!(swallowed(&multi), (21, None), "a real multi-line cell");
        let open = rows.replacen("5,n5", "5,\"n5", 1);
        let (n, why) = swallowed(&open);
        assert_eq!(n, 6);
        assert!(why.is_some_and(|w| w.contains("ends inside a quoted field")));
        let closed_late = format!("{}\"\n", open.trim_end());
        let (_, why) = swallowed(&closed_late);
        assert!(
            why.is_some_and(|w| w.contains("line 7: one field holds 14 line breaks")),
            "{closed_late}"
        );
    }

    #[test]
    fn blank_records() {
        assert!(is_blank(&ByteRecord::from(vec!["", " ", "\t"])));
        assert!(!is_blank(&ByteRecord::from(vec!["", "x"])));
    }
}
