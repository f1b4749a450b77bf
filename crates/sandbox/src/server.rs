//! The HTTP server: a TCP listener whose connections can be killed mid-request (for the
//! "dropped connection" faults), the router for the three emulators plus `/_sandbox/*`, the
//! gate middleware (latency, faults, stats), and the background state flusher.
//! Invariant: no handler holds a state lock across an `.await`.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::faults::{Decision, Faults};
use super::state::{write_encoded, Data};
use super::stats::Stats;
use super::{folio, illiad, libib, SandboxConfig};

/// Locks a mutex, recovering the data if a previous holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An issued FOLIO token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// `true` for a refresh token.
    pub refresh: bool,
    /// `None` for legacy non-expiring tokens.
    pub expires: Option<Instant>,
}

/// Shared server state.
pub(crate) struct App {
    pub config: SandboxConfig,
    pub data: Mutex<Data>,
    pub dirty: AtomicBool,
    /// Writes applied so far (numbered).
    pub write_gen: AtomicU64,
    /// The last write in the saved state file.
    pub saved_gen: AtomicU64,
    /// One save at a time (writes waiting behind it are covered by the next one).
    pub persist_gate: tokio::sync::Mutex<()>,
    /// The write generation the state file holds (every save is ordered by it).
    pub file_gen: std::sync::Mutex<u64>,
    pub tokens: Mutex<HashMap<String, Token>>,
    /// Set by `POST /_sandbox/folio/revoke`: the FOLIO login is refused from then on.
    pub folio_revoked: AtomicBool,
    pub libib_last: Mutex<HashMap<String, Instant>>,
    pub stats: Mutex<Stats>,
    pub faults: Mutex<Faults>,
}

impl App {
    /// Runs `f` on the data and marks it for persisting.
    pub fn write<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        let mut d = lock(&self.data);
        let r = f(&mut d);
        self.dirty.store(true, Ordering::SeqCst);
        self.write_gen.fetch_add(1, Ordering::SeqCst);
        r
    }

    /// With `persist_each_write`, returns once the state file holds every write applied so far:
    /// one save covers all the writes that queued behind it (group commit). Written without
    /// fsync — the file survives the process being killed, which is what a rehearsal's resume
    /// needs; `persist` (on shutdown) syncs.
    pub async fn persist_writes(self: &Arc<Self>) {
        if !self.config.persist_each_write || self.config.state.is_none() {
            return;
        }
        let wanted = self.write_gen.load(Ordering::SeqCst);
        let _gate = self.persist_gate.lock().await;
        if self.saved_gen.load(Ordering::SeqCst) >= wanted {
            return;
        }
        let app = self.clone();
        let saved = tokio::task::spawn_blocking(move || {
            let Some(path) = &app.config.state else {
                return Ok(0);
            };
            let (gen, bytes) = app.encode(false)?;
            write_encoded(path, &bytes, false, Some((&app.file_gen, gen))).map(|()| gen)
        })
        .await;
        match saved {
            Ok(Ok(gen)) => self.saved_gen.store(gen, Ordering::SeqCst),
            Ok(Err(e)) => tracing::warn!("sandbox: {e}"),
            Err(e) => tracing::warn!("sandbox: saving the state failed: {e}"),
        }
    }

    /// Runs `f` on the data, read-only.
    pub fn read<R>(&self, f: impl FnOnce(&Data) -> R) -> R {
        let d = lock(&self.data);
        f(&d)
    }

    /// The data's write generation and its state-file bytes, encoded under the data lock.
    /// Encoding holds the lock about a third as long as cloning the data to encode it after
    /// (the clone was 27 ms a save at 10,000 users, measured with `perf`, every request waiting
    /// behind it) and allocates nothing but the bytes.
    fn encode(&self, pretty: bool) -> anyhow::Result<(u64, Vec<u8>)> {
        let d = lock(&self.data);
        Ok((self.write_gen.load(Ordering::SeqCst), d.encode(pretty)?))
    }

    /// Saves the state file (pretty, synced) if one is configured.
    pub fn persist(&self) -> anyhow::Result<()> {
        self.save(true).map(|_| ())
    }

    /// Saves the state file, synced, if one is configured (pretty JSON when `pretty`); returns
    /// how long the data lock was held.
    pub fn save(&self, pretty: bool) -> anyhow::Result<Duration> {
        let Some(path) = &self.config.state else {
            return Ok(Duration::ZERO);
        };
        self.dirty.store(false, Ordering::SeqCst);
        let began = Instant::now();
        let (gen, bytes) = self.encode(pretty)?;
        let held = began.elapsed();
        write_encoded(path, &bytes, true, Some((&self.file_gen, gen)))?;
        self.saved_gen.fetch_max(gen, Ordering::SeqCst);
        Ok(held)
    }
}

/// The route template of a response produced by a hand-routed handler (ILLiad), for stats.
#[derive(Debug, Clone)]
pub(crate) struct RouteName(pub String);

// ---------------------------------------------------------------------------------------------
// Killable connections

/// A TCP stream that fails every write once its kill flag is set, so hyper closes the
/// connection without sending the response.
pub struct KillStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "sandbox fault: connection dropped",
    )
}

impl AsyncRead for KillStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A TCP listener producing [`KillStream`]s.
pub struct KillListener(pub TcpListener);

impl axum::serve::Listener for KillListener {
    type Io = KillStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    return (
                        KillStream {
                            inner,
                            kill: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Per-connection handle a middleware uses to drop the connection.
#[derive(Clone)]
pub(crate) struct ConnKill(Arc<AtomicBool>);

impl Connected<axum::serve::IncomingStream<'_, KillListener>> for ConnKill {
    fn connect_info(stream: axum::serve::IncomingStream<'_, KillListener>) -> Self {
        ConnKill(stream.io().kill.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Response helpers

/// A `text/plain` response (FOLIO's generic error format).
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// An `application/json` response.
pub(crate) fn json_resp(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

/// Which emulated API a path is under.
enum Api {
    Folio,
    Illiad,
    Libib,
    Other,
}

fn api_of(path: &str) -> Api {
    if path.starts_with("/folio") {
        Api::Folio
    } else if path.starts_with("/illiad") {
        Api::Illiad
    } else if path.starts_with("/libib") {
        Api::Libib
    } else {
        Api::Other
    }
}

/// An injected 500. The bodies are the sandbox's own (a fault is a rehearsal device, not a rule
/// of the real API; patron-etl reads only the status): ILLiad's is ASP.NET Web API's generic
/// `{"Message":"An error has occurred."}` shape, the others plain text or JSON [SILENT].
fn fault_500(path: &str) -> Response {
    match api_of(path) {
        Api::Illiad => json_resp(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"Message": "An error has occurred."}),
        ),
        Api::Libib => json_resp(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "Internal Server Error"}),
        ),
        _ => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// An injected or rate-limit 429 with `Retry-After` (RFC 9110 §10.2.3). The bodies are the
/// sandbox's own: Okapi and ILLiad document no rate limit, and Libib's 429 is observed, not
/// documented (illiad-libib-api.md line 97: "Observed: 429 [EMP]").
fn fault_429(path: &str, secs: u64) -> Response {
    let mut r = match api_of(path) {
        Api::Folio => json_resp(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"message": "API rate limit exceeded"}),
        ),
        Api::Illiad => json_resp(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"Message": "Too many requests."}),
        ),
        _ => json_resp(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": "Too Many Requests"}),
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Gate middleware: latency, faults, stats

async fn gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sandbox") {
        return next.run(req).await;
    }
    let arrived = tokio::time::Instant::now();
    let latency = lock(&app.faults).latency();
    let resp = gate_inner(&app, req, next, path).await;
    // The latency is the service's answering time: an answer leaves no sooner than `latency`
    // after its request arrived, the sandbox's own work included (so a client keeping N
    // requests in flight can reach requests × latency ÷ N, the bound the bench measures
    // against, instead of paying the emulator's processing on top of every delay).
    if !latency.is_zero() {
        sleep_precisely_until(arrived + latency).await;
    }
    lock(&app.stats).answered(arrived.elapsed());
    resp
}

/// Waits until `deadline`, to well under a millisecond. tokio's timer counts whole milliseconds
/// and rounds every deadline up to the end of one (tokio 1.54 `src/runtime/time/source.rs`
/// `deadline_to_tick`), and the driver fires it at its next wake-up after that: a 5 ms
/// `sleep_until` took 6.4 ms on average here (`answering_seconds` in `/_sandbox/stats`, 10,000
/// requests at 8 in flight), so the emulated service answered a quarter slower than its stated
/// latency. On Linux the wait is a `timerfd` (a kernel high-resolution timer) on tokio's reactor,
/// so the worker parked in `epoll_wait` wakes when it fires; elsewhere, or if a timer cannot be
/// made, it is tokio's sleep.
async fn sleep_precisely_until(deadline: tokio::time::Instant) {
    #[cfg(target_os = "linux")]
    if precise::sleep_until(deadline).await.is_ok() {
        return;
    }
    tokio::time::sleep_until(deadline).await;
}

#[cfg(target_os = "linux")]
mod precise {
    use rustix::time::{
        timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// One-shot `CLOCK_MONOTONIC` timerfd armed for the time left to `deadline`, awaited as
    /// readable. `Err` when the timer could not be made (the caller falls back).
    pub(super) async fn sleep_until(deadline: tokio::time::Instant) -> std::io::Result<()> {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        let other = |e| std::io::Error::other(e);
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let spec = Itimerspec {
            it_interval: zero,
            it_value: Timespec::try_from(left).map_err(other)?,
        };
        timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec)?;
        // SAFETY: `fd` is an `OwnedFd` moved into the `AsyncFd`: it stays open, and its raw fd
        // the same, until the `AsyncFd` is dropped (the contract of `register_with_interest`).
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        let _ready = fd.readable().await?;
        Ok(())
    }
}

async fn gate_inner(app: &Arc<App>, req: Request, next: Next, path: String) -> Response {
    let method = req.method().clone();
    if let Some(r) = folio::request_line_too_long(app, &req) {
        lock(&app.stats).record(&format!("{method} <request line too long>"), "414");
        return r;
    }
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let kill = req
        .extensions()
        .get::<ConnectInfo<ConnKill>>()
        .map(|c| c.0 .0.clone());
    let is_write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let decision = lock(&app.faults).decide(is_write);
    let template = |resp: Option<&Response>| {
        let t = resp
            .and_then(|r| r.extensions().get::<RouteName>().map(|n| n.0.clone()))
            .or_else(|| matched.clone())
            .unwrap_or_else(|| "<unmatched>".to_string());
        if t.contains(' ') {
            t
        } else {
            format!("{method} {t}")
        }
    };
    let drop_now = |kill: &Option<Arc<AtomicBool>>| {
        if let Some(k) = kill {
            k.store(true, Ordering::SeqCst);
            true
        } else {
            false
        }
    };
    let resp = match decision {
        Decision::Drop if drop_now(&kill) => {
            lock(&app.stats).record(&template(None), "dropped");
            return fault_500(&path);
        }
        Decision::Fail | Decision::Drop => fault_500(&path),
        Decision::Throttle(s) => fault_429(&path, s),
        Decision::Pass => {
            let resp = next.run(req).await;
            if is_write {
                app.persist_writes().await;
            }
            resp
        }
        Decision::ApplyThenDrop => {
            let resp = next.run(req).await;
            app.persist_writes().await;
            if drop_now(&kill) {
                lock(&app.stats).record(&template(Some(&resp)), "dropped");
            }
            return resp;
        }
    };
    lock(&app.stats).record(&template(Some(&resp)), resp.status().as_str());
    resp
}

// ---------------------------------------------------------------------------------------------
// /_sandbox

async fn stats(State(app): State<Arc<App>>) -> Response {
    let s = lock(&app.stats).clone();
    json_resp(
        StatusCode::OK,
        &serde_json::to_value(s).unwrap_or(Value::Null),
    )
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.write(|d| *d = Data::seeded());
    *lock(&app.stats) = Stats::default();
    lock(&app.libib_last).clear();
    lock(&app.tokens).clear();
    app.folio_revoked
        .store(false, std::sync::atomic::Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sandbox/folio/revoke`: every FOLIO token stops working and the login is refused from
/// now on — as when the account's password is changed (or the account disabled) during a run.
/// A test hook (issue 20: authentication lost mid-run), not part of any emulated API.
async fn revoke_folio(State(app): State<Arc<App>>) -> Response {
    app.folio_revoked
        .store(true, std::sync::atomic::Ordering::SeqCst);
    lock(&app.tokens).clear();
    StatusCode::NO_CONTENT.into_response()
}

/// An unknown path. FOLIO's is Okapi's 404 "No suitable module found for path {0} for tenant {1}"
/// (folio-org/okapi `okapi-core/src/main/java/org/folio/okapi/managers/ProxyService.java` line
/// 243, message 10103 in `okapi-core/src/main/resources/infra-messages/Messages_en.properties`
/// line 9), the path as the gateway sees it (without the sandbox's `/folio` mount). Libib's and
/// the rest are the sandbox's own [SILENT].
async fn fallback(req: Request) -> Response {
    let path = req.uri().path().to_string();
    match api_of(&path) {
        Api::Folio => {
            let p = path.trim_start_matches("/folio");
            let tenant = req
                .headers()
                .get("x-okapi-tenant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            text(
                StatusCode::NOT_FOUND,
                format!("No suitable module found for path {p} for tenant {tenant}"),
            )
        }
        Api::Libib => json_resp(StatusCode::NOT_FOUND, &json!({"error": "Not Found"})),
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Builds the router for `app`.
pub(crate) fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body_bytes;
    Router::new()
        .merge(folio::routes(app.clone()))
        .merge(libib::routes())
        .route("/illiad/{*rest}", any(illiad::handle))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/folio/revoke", post(revoke_folio))
        .route("/_sandbox/libib/checkouts/{id}", post(libib::set_checkouts))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(
        KillListener(listener),
        router.into_make_service_with_connect_info::<ConnKill>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Saves dirty state every `every` until the app is dropped elsewhere and `stop` fires. A
/// save holds the data lock while it encodes, so saves are spaced to keep that under 2 % of
/// the time (at least [`LOCK_SHARE`] × the last hold apart): a large state is saved less often
/// rather than stalling every request more.
pub(crate) async fn flusher(
    app: Arc<App>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut wait = every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if app.dirty.load(Ordering::SeqCst) {
            let a = app.clone();
            // Compact: the periodic save is for a crash, the pretty one is made on shutdown.
            match tokio::task::spawn_blocking(move || a.save(false)).await {
                Ok(Ok(held)) => wait = every.max(held * LOCK_SHARE),
                Ok(Err(e)) => tracing::warn!("sandbox: {e}"),
                Err(e) => tracing::warn!("sandbox: saving the state failed: {e}"),
            }
        }
    }
}

/// The periodic save waits at least this many times its last lock hold (a 2 % share).
const LOCK_SHARE: u32 = 50;

/// The body of a response built by [`text`] or [`json_resp`], for handlers that need one.
pub(crate) fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}
