//! A small HTTP/1.1 proxy on 127.0.0.1 for tests: every request is recorded (with its arrival
//! time) and either answered by a test's rule or forwarded to the sandbox. One request per
//! connection (`Connection: close`), a thread per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path with query string.
    pub target: String,
    /// Header lines as sent (`Name: value`).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Seen {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request as text (request line, headers, body), for echoing.
    pub fn echo(&self) -> String {
        let mut s = format!("{} {} HTTP/1.1\n", self.method, self.target);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push('\n');
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

/// What a rule answers.
pub enum Answer {
    /// Forward to the upstream.
    Forward,
    /// This status, headers and body.
    Reply(u16, Vec<(String, String)>, Vec<u8>),
    /// A body of this many bytes (`x`), streamed without a length (it ends when the
    /// connection closes), so only the client's own bound stops it.
    Huge(u16, u64),
}

type Rule = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Every request seen, in arrival order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// Starts a proxy to `upstream`; `rule(request, index)` decides each answer (`index` counts the
/// requests seen so far, from 0).
pub fn start(
    upstream: &str,
    rule: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static,
) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let rule: Arc<Rule> = Arc::new(rule);
    let upstream = upstream.to_string();
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (seen, rule, upstream) = (s2.clone(), rule.clone(), upstream.clone());
            std::thread::spawn(move || {
                let _ = serve(conn, &seen, &*rule, &upstream);
            });
        }
    });
    Proxy { base, seen }
}

fn serve(
    conn: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    rule: &Rule,
    upstream: &str,
) -> std::io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let req = Seen {
        method,
        target,
        headers,
        body,
        at,
    };
    let index = {
        let mut s = seen.lock().expect("lock");
        s.push(req.clone());
        s.len() - 1
    };
    let mut out = conn;
    match rule(&req, index) {
        Answer::Reply(status, headers, body) => write_reply(&mut out, status, &headers, &body),
        Answer::Huge(status, n) => {
            write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![b'x'; 1 << 16];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len() as u64) as usize;
                out.write_all(&chunk[..k])?;
                left -= k as u64;
            }
            Ok(())
        }
        Answer::Forward => {
            let c = reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
            let mut b = c.request(method, format!("{upstream}{}", req.target));
            for (k, v) in &req.headers {
                let k = k.to_ascii_lowercase();
                if !matches!(
                    k.as_str(),
                    "host" | "content-length" | "connection" | "accept-encoding"
                ) {
                    b = b.header(k, v);
                }
            }
            let resp = b.body(req.body.clone()).send();
            match resp {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers: Vec<(String, String)> = resp
                        .headers()
                        .iter()
                        .filter(|(k, _)| {
                            !matches!(
                                k.as_str(),
                                "content-length" | "connection" | "transfer-encoding"
                            )
                        })
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
                    write_reply(&mut out, status, &headers, &body)
                }
                Err(_) => write_reply(&mut out, 502, &[], b"upstream failed"),
            }
        }
    }
}

fn write_reply(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// A reply with a content type.
pub fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
    Answer::Reply(
        status,
        vec![("Content-Type".into(), content_type.into())],
        body.into(),
    )
}

/// Every file under `dir` (recursively) as text, with its path, for grepping.
pub fn files_text(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}
