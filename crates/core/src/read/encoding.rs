//! Text encoding of CSV input: sniffing, label lookup and streaming transcoding to UTF-8.
//!
//! Invariants: sniffing looks only at a bounded prefix ([`SNIFF_LEN`] bytes); the transcoder
//! streams in constant memory. A byte-order mark always wins over a sniffed or requested
//! encoding and is never passed on to the caller. UTF-8 input is passed through unchanged
//! (not validated here) so that a later invalid byte can be reported against the row it is in.

use std::io::Read;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

/// How many leading bytes are inspected to guess the encoding.
pub const SNIFF_LEN: usize = 64 * 1024;

/// Guesses the encoding of a file from its first bytes.
///
/// `at_eof` says whether `prefix` is the whole file (so an incomplete UTF-8 sequence at its end
/// is a real error rather than a sequence cut by the prefix boundary).
/// Order: BOM (UTF-8, UTF-16 LE/BE) → valid UTF-8 → Windows-1252 (a superset of Latin-1).
pub fn sniff(prefix: &[u8], at_eof: bool) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(prefix) {
        return enc;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => UTF_8,
        // The prefix ends in the middle of a multi-byte character: still UTF-8.
        Err(e) if e.error_len().is_none() && !at_eof => UTF_8,
        Err(_) => WINDOWS_1252,
    }
}

/// Looks up an encoding by its WHATWG label (`utf-8`, `utf-16le`, `windows-1252`, `latin1`, …).
pub fn for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Wraps `rdr` in a streaming transcoder producing UTF-8 bytes.
///
/// For UTF-8 the bytes pass through untouched (minus a BOM); for everything else they are
/// decoded from `encoding`, except that a BOM at the start selects its own encoding.
pub fn decoder<R: Read>(rdr: R, encoding: &'static Encoding) -> DecodeReaderBytes<R, Vec<u8>> {
    let mut builder = DecodeReaderBytesBuilder::new();
    builder.strip_bom(true);
    if encoding == UTF_8 {
        // No explicit encoding: BOM sniffing stays on (a UTF-16 BOM still decodes as UTF-16),
        // and UTF-8 is passed through raw.
        builder.utf8_passthru(true);
    } else {
        builder.encoding(Some(encoding)).bom_override(true);
    }
    builder.build(rdr)
}

/// True when decoded text looks like binary data rather than a delimited text file:
/// it holds a NUL, or more than 5% of its bytes are control characters other than
/// tab, CR, LF and form feed.
pub fn looks_binary(text: &[u8]) -> bool {
    if text.contains(&0) {
        return true;
    }
    let controls = text
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
        .count();
    controls * 20 > text.len()
}

/// True for the UTF-16 encodings (used to word error messages).
pub fn is_utf16(encoding: &'static Encoding) -> bool {
    encoding == UTF_16LE || encoding == UTF_16BE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], enc: &'static Encoding) -> Vec<u8> {
        let mut out = Vec::new();
        decoder(bytes, enc)
            .read_to_end(&mut out)
            .expect("in-memory read");
        out
    }

    #[test]
    fn sniffs_boms() {
        assert_eq!(sniff(b"\xEF\xBB\xBFa,b", true), UTF_8);
        assert_eq!(sniff(b"\xFF\xFEa\0", true), UTF_16LE);
        assert_eq!(sniff(b"\xFE\xFF\0a", true), UTF_16BE);
    }

    #[test]
    fn sniffs_utf8_and_legacy() {
        assert_eq!(sniff("Zoë,Müller".as_bytes(), true), UTF_8);
        assert_eq!(sniff(b"Ren\xE9,Caf\xE9", true), WINDOWS_1252);
        // A multi-byte character cut by the prefix boundary is not evidence against UTF-8.
        assert_eq!(sniff(b"abc\xC3", false), UTF_8);
        assert_eq!(sniff(b"abc\xC3", true), WINDOWS_1252);
    }

    #[test]
    fn labels() {
        assert_eq!(for_label("latin1"), Some(WINDOWS_1252));
        assert_eq!(for_label(" UTF-8 "), Some(UTF_8));
        assert_eq!(for_label("utf-16le"), Some(UTF_16LE));
        assert_eq!(for_label("klingon"), None);
    }

    #[test]
    fn decodes_and_strips_bom() {
        assert_eq!(decode_all(b"\xEF\xBB\xBFa\xFFb", UTF_8), b"a\xFFb");
        assert_eq!(decode_all(b"\xFF\xFEh\0\xE9\0", UTF_8), "hé".as_bytes());
        assert_eq!(decode_all(b"Ren\xE9", WINDOWS_1252), "René".as_bytes());
        // A BOM overrides a requested legacy encoding.
        assert_eq!(
            decode_all("\u{feff}é".as_bytes(), WINDOWS_1252),
            "é".as_bytes()
        );
    }

    #[test]
    fn binary_detection() {
        assert!(looks_binary(b"a,b\0c"));
        assert!(looks_binary(&[1, 2, 3, 4, b'a', b'b']));
        assert!(!looks_binary(b"a\tb\r\nc,d\n"));
        assert!(!looks_binary(b""));
    }
}
