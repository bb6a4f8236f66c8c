//! One way to serve HTTP for every MACH server, with the abuse protections they all need: a cap
//! on concurrent connections, a deadline for request headers (slowloris) and for request bodies,
//! a body size limit, a Host allowlist (DNS rebinding), an Origin allowlist (CORS) and a JSON
//! content type for POST. Rejections are answered with JSON-RPC error objects.
//!
//! Checks run in this order: connection limit, header deadline (hyper), host, origin and
//! preflight, content type (POST), body size and deadline, then the router.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{header, uri::Authority, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::{codes, response, RpcError};

/// How long in-flight connections may run on after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (for example EMFILE) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// At most one "connection limit reached" warning per this interval.
const LIMIT_WARN_EVERY: Duration = Duration::from_secs(10);

/// Who may talk to a server (per server, from its own config).
#[derive(Clone, Debug)]
pub struct Access {
    /// Host names accepted in the `Host` header (`rpc_vhosts`); `*` accepts any.
    pub vhosts: Vec<String>,
    /// Origins accepted from browsers (`rpc_cors`); `*` accepts any, empty refuses all.
    pub cors: Vec<String>,
}

impl Access {
    /// Any host, no browser origin.
    pub fn any() -> Self {
        Self {
            vhosts: vec!["*".into()],
            cors: Vec::new(),
        }
    }

    /// Loopback host names only, no browser origin.
    pub fn local() -> Self {
        let vhosts = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        Self {
            vhosts,
            cors: Vec::new(),
        }
    }
}

/// Resource limits (shared by all servers of a process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a complete request head (also bounds idle keep-alive).
    pub header_timeout: Duration,
    /// Time a client has to send a complete request body.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1_048_576,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

impl Limits {
    /// Reads `MACH_HTTP_MAX_BODY_BYTES`, `MACH_HTTP_HEADER_TIMEOUT_SECS`,
    /// `MACH_HTTP_BODY_TIMEOUT_SECS` and `MACH_HTTP_MAX_CONNECTIONS` from the environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`Limits::from_env`], with variables looked up through `get`. A variable that is
    /// unset (or empty) keeps its default; any other value must be a positive integer.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let number = |name: &str| -> Result<Option<u64>, String> {
            let Some(raw) = get(name) else {
                return Ok(None);
            };
            let text = raw.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(format!("{name}={raw:?} is not a positive integer")),
            }
        };
        let size = |name: &str| -> Result<Option<usize>, String> {
            number(name)?
                .map(|n| usize::try_from(n).map_err(|_| format!("{name}={n} is too large")))
                .transpose()
        };
        let d = Self::default();
        Ok(Self {
            max_body_bytes: size("MACH_HTTP_MAX_BODY_BYTES")?.unwrap_or(d.max_body_bytes),
            header_timeout: number("MACH_HTTP_HEADER_TIMEOUT_SECS")?
                .map_or(d.header_timeout, Duration::from_secs),
            body_timeout: number("MACH_HTTP_BODY_TIMEOUT_SECS")?
                .map_or(d.body_timeout, Duration::from_secs),
            max_connections: size("MACH_HTTP_MAX_CONNECTIONS")?.unwrap_or(d.max_connections),
        })
    }
}

/// A JSON-RPC error response (id null) with the given HTTP status and a JSON content type.
pub fn error_response(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = response(serde_json::Value::Null, Err(RpcError::new(code, message)));
    (status, Json(body)).into_response()
}

/// The HTTP response for what [`crate::answer_body`] produced: the JSON answer, or
/// `204 No Content` when the body held only notifications.
pub fn reply(answer: Option<serde_json::Value>) -> Response {
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, applying `access` and `limits`.
/// In-flight connections then get a few seconds to finish before they are dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    access: Access,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_grace(listener, router, access, limits, shutdown, SHUTDOWN_GRACE).await
}

/// What every request handler of one server shares.
struct Shared {
    router: Router,
    access: Access,
    limits: Limits,
}

async fn serve_with_grace(
    listener: TcpListener,
    router: Router,
    access: Access,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    // Our own limit answers first; axum's must not be the smaller one.
    let router = router.layer(DefaultBodyLimit::max(limits.max_body_bytes));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let shared = Arc::new(Shared {
        router,
        access,
        limits,
    });
    // Tells every connection task to finish its current request and close.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut last_warning: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        while tasks.try_join_next().is_some() {}
        if permits.available_permits() == 0
            && last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARN_EVERY)
        {
            last_warning = Some(Instant::now());
            tracing::warn!(
                max = shared.limits.max_connections,
                "HTTP connection limit reached; new connections wait"
            );
        }
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed; stop rather than spin
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an HTTP connection failed; retrying");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Best effort: small JSON answers should not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            async move { Ok::<_, Infallible>(guard(req, peer, &shared).await) }
        });
        // The permit travels with the socket, so an upgraded (WebSocket) connection keeps
        // holding it until the socket itself is dropped.
        let io = TokioIo::new(Permitted {
            stream,
            _permit: permit,
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let mut stopping = stopping.clone();
        tasks.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }

    drop(listener);
    let _ = stop.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        tracing::warn!(
            ?grace,
            "HTTP connections still open after shutdown grace; dropping them"
        );
    }
    tasks.shutdown().await;
    Ok(())
}

/// A TCP stream that holds a connection permit for as long as it lives.
struct Permitted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Permitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Permitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Runs the checks on one request and, if it passes, the router.
async fn guard(req: Request<Incoming>, peer: SocketAddr, shared: &Shared) -> Response {
    let invalid = |status, message: String| error_response(status, codes::INVALID_REQUEST, message);
    let headers = req.headers();

    // Host (DNS rebinding): the name the client thinks it is talking to must be ours.
    let host = headers
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let host_ok = match &host {
        Some(h) => listed(&shared.access.vhosts, &host_name(h)),
        None => shared.access.vhosts.iter().any(|v| v == "*"),
    };
    if !host_ok {
        let shown = host.as_deref().map(host_name).unwrap_or_default();
        return invalid(
            StatusCode::FORBIDDEN,
            format!(
                "host {shown:?} is not allowed: add it to the server's vhosts setting (rpc_vhosts)"
            ),
        );
    }

    // Origin (browsers): only configured origins, and they get CORS headers on every answer.
    let origin = match headers.get(header::ORIGIN) {
        None => None,
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            if !listed(&shared.access.cors, text.trim_end_matches('/')) {
                return invalid(
                    StatusCode::FORBIDDEN,
                    format!(
                        "origin {text:?} is not allowed: add it to the server's cors setting (rpc_cors)"
                    ),
                );
            }
            Some(value.clone())
        }
    };
    let finish = |mut resp: Response| {
        if let Some(origin) = &origin {
            add_cors(resp.headers_mut(), origin);
        }
        resp
    };
    if origin.is_some() && req.method() == Method::OPTIONS {
        return finish(StatusCode::NO_CONTENT.into_response());
    }

    // Content type: stops a web page's `text/plain` "simple request" from reaching a handler.
    if req.method() == Method::POST {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        let is_json = content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
        if !is_json {
            let got = content_type.map_or_else(|| "none".to_string(), |ct| format!("{ct:?}"));
            return finish(invalid(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type must be application/json; got {got}"),
            ));
        }
    }

    // Body: buffered whole, within the size and time limits, before any handler sees it.
    let (mut parts, body) = req.into_parts();
    let body = if body.is_end_stream() {
        Body::new(body)
    } else {
        match read_body(&parts.headers, body, &shared.limits).await {
            Ok(bytes) => Body::from(bytes),
            Err(resp) => return finish(resp),
        }
    };
    parts.extensions.insert(ConnectInfo(peer));
    let resp = match shared
        .router
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    finish(resp)
}

/// Reads a whole request body, or says why not. Error answers close the connection, since the
/// rest of the body is left unread.
async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limits: &Limits,
) -> Result<Bytes, Response> {
    let max = limits.max_body_bytes;
    let closing = |status, message: String| {
        let mut resp = error_response(status, codes::INVALID_REQUEST, message);
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    };
    let too_large = || {
        closing(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {max} bytes; see MACH_HTTP_MAX_BODY_BYTES"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(limits.body_timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(closing(StatusCode::BAD_REQUEST, format!("could not read request body: {e}"))),
        Err(_) => Err(closing(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within the body timeout of {} s; see MACH_HTTP_BODY_TIMEOUT_SECS",
                limits.body_timeout.as_secs_f64()
            ),
        )),
    }
}

fn add_cors(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
}

/// Whether `name` is in an allowlist (case-insensitive, `*` matches anything, brackets around
/// IPv6 entries and a trailing `/` are ignored).
fn listed(list: &[String], name: &str) -> bool {
    list.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('/');
        entry == "*" || strip_brackets(entry).eq_ignore_ascii_case(name)
    })
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

/// The host part of a `Host` header value, without port or IPv6 brackets, lowercased.
fn host_name(value: &str) -> String {
    let value = value.trim();
    let host = if !value.starts_with('[') && value.matches(':').count() > 1 {
        value // a bare IPv6 address: not valid in a Host header, but seen in practice
    } else if let Ok(authority) = value.parse::<Authority>() {
        return strip_brackets(authority.host()).to_ascii_lowercase();
    } else if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        value.rsplit_once(':').map_or(value, |(host, _)| host)
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::extract::ws::{WebSocket, WebSocketUpgrade};
    use axum::routing::{get, post};
    use serde_json::Value;
    use std::collections::HashMap;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;
    use tokio::time::{sleep, timeout};

    const LONG: Duration = Duration::from_secs(2);
    const JSON: &str = "Content-Type: application/json";

    struct Server {
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        task: JoinHandle<io::Result<()>>,
    }

    async fn echo(mut socket: WebSocket) {
        while let Some(Ok(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    }

    fn app() -> Router {
        let peer = |ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() };
        let slow = || async {
            sleep(Duration::from_millis(300)).await;
            "done"
        };
        Router::new()
            .route(
                "/",
                get(|| async { "hello" }).post(|body: Bytes| async { body }),
            )
            .route(
                "/len",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route("/peer", get(peer))
            .route(
                "/ws",
                get(|ws: WebSocketUpgrade| async { ws.on_upgrade(echo) }),
            )
            .route("/slow", get(slow))
            .route("/stuck", get(|| sleep(Duration::from_secs(30))))
    }

    async fn start_with(access: Access, limits: Limits, grace: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move { drop(stopped.await) };
        let task = serve_with_grace(listener, app(), access, limits, shutdown, grace);
        Server {
            addr,
            stop,
            task: tokio::spawn(task),
        }
    }

    async fn start(access: Access, limits: Limits) -> Server {
        start_with(access, limits, SHUTDOWN_GRACE).await
    }

    fn vhosts(hosts: &[&str]) -> Access {
        Access {
            vhosts: hosts.iter().map(|h| h.to_string()).collect(),
            cors: Vec::new(),
        }
    }

    /// A request with `Connection: close`; `extra` are header lines without CRLF.
    fn request(method: &str, path: &str, extra: &[&str], body: &str) -> String {
        let mut text = format!("{method} {path} HTTP/1.1\r\n");
        for line in extra {
            text += &format!("{line}\r\n");
        }
        if !body.is_empty() {
            text += &format!("Content-Length: {}\r\n", body.len());
        }
        text + "Connection: close\r\n\r\n" + body
    }

    /// Reads until the server closes (or errors), failing after `LONG`.
    async fn read_all(stream: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let reading = async {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                out.extend_from_slice(&buf[..n]);
            }
        };
        timeout(LONG, reading)
            .await
            .expect("server did not close the connection in time");
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn exchange(addr: SocketAddr, raw: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        read_all(&mut stream).await
    }

    async fn call(addr: SocketAddr, method: &str, extra: &[&str], body: &str) -> String {
        exchange(addr, &request(method, "/", extra, body)).await
    }

    fn status(reply: &str) -> u16 {
        reply
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
        let head = reply.split("\r\n\r\n").next()?;
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn body(reply: &str) -> &str {
        reply.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The error message of a JSON-RPC rejection, after checking its status and shape.
    fn rejection(reply: &str, status_code: u16) -> String {
        assert_eq!(status(reply), status_code, "{reply}");
        assert_eq!(
            header(reply, "content-type"),
            Some("application/json"),
            "{reply}"
        );
        let value: Value = serde_json::from_str(body(reply)).unwrap();
        assert_eq!(
            (&value["jsonrpc"], &value["id"]),
            (&"2.0".into(), &Value::Null)
        );
        assert_eq!(value["error"]["code"], codes::INVALID_REQUEST, "{reply}");
        value["error"]["message"].as_str().unwrap().to_string()
    }

    #[test]
    fn host_names() {
        for (value, host) in [
            ("localhost:8080", "localhost"),
            ("LocalHost", "localhost"),
            ("[::1]:8545", "::1"),
            ("[::1]", "::1"),
            ("::1", "::1"),
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:80", "127.0.0.1"),
            ("example.com:", "example.com"),
            ("", ""),
        ] {
            assert_eq!(host_name(value), host, "{value:?}");
        }
        assert!(listed(&["[::1]".into()], "::1"));
        assert!(!listed(&["localhost".into()], "localhost.evil"));
    }

    #[tokio::test]
    async fn host_allowlist() {
        let s = start(vhosts(&["localhost"]), Limits::default()).await;
        let ok = call(
            s.addr,
            "GET",
            &[&format!("Host: localhost:{}", s.addr.port())],
            "",
        )
        .await;
        assert_eq!((status(&ok), body(&ok)), (200, "hello"), "{ok}");
        let bad = call(s.addr, "GET", &["Host: evil.example"], "").await;
        let message = rejection(&bad, 403);
        let expected = r#"host "evil.example" is not allowed: add it to the server's vhosts setting (rpc_vhosts)"#;
        assert_eq!(message, expected);
        let v6 = format!("Host: [::1]:{}", s.addr.port());
        rejection(&call(s.addr, "GET", &[&v6], "").await, 403);
        rejection(&exchange(s.addr, "GET / HTTP/1.0\r\n\r\n").await, 403);

        let s = start(vhosts(&["::1"]), Limits::default()).await;
        assert_eq!(status(&call(s.addr, "GET", &[&v6], "").await), 200);

        let s = start(Access::any(), Limits::default()).await;
        assert_eq!(
            status(&call(s.addr, "GET", &["Host: evil.example"], "").await),
            200
        );
        assert_eq!(
            status(&exchange(s.addr, "GET / HTTP/1.0\r\n\r\n").await),
            200
        );
    }

    #[tokio::test]
    async fn origin_allowlist_and_preflight() {
        let s = start(Access::local(), Limits::default()).await;
        let evil = ["Host: localhost", "Origin: http://evil.example", JSON];
        let message = rejection(&call(s.addr, "POST", &evil, "{}").await, 403);
        assert!(message.contains("\"http://evil.example\"") && message.contains("cors"));
        let pre = call(s.addr, "OPTIONS", &evil[..2], "").await;
        rejection(&pre, 403);
        assert_eq!(header(&pre, "access-control-allow-origin"), None);

        let access = Access {
            cors: vec!["http://app.example".into()],
            ..Access::local()
        };
        let s = start(access, Limits::default()).await;
        let app = ["Host: localhost", "Origin: http://APP.example", JSON];
        let ok = call(s.addr, "POST", &app, "{}").await;
        assert_eq!((status(&ok), body(&ok)), (200, "{}"), "{ok}");
        assert_eq!(
            header(&ok, "access-control-allow-origin"),
            Some("http://APP.example")
        );
        assert_eq!(header(&ok, "vary"), Some("Origin"));
        let pre = call(s.addr, "OPTIONS", &app[..2], "").await;
        assert_eq!(status(&pre), 204, "{pre}");
        assert_eq!(
            header(&pre, "access-control-allow-origin"),
            Some("http://APP.example")
        );
        assert_eq!(
            header(&pre, "access-control-allow-methods"),
            Some("POST, GET, OPTIONS")
        );
        assert_eq!(
            header(&pre, "access-control-allow-headers"),
            Some("content-type")
        );
        // Later rejections carry CORS headers too, so the page can read them.
        let plain = call(s.addr, "POST", &app[..2], "{}").await;
        rejection(&plain, 415);
        assert_eq!(
            header(&plain, "access-control-allow-origin"),
            Some("http://APP.example")
        );
        // Without Origin (curl, servers) nothing changes.
        let curl = call(s.addr, "GET", &["Host: localhost"], "").await;
        assert_eq!(status(&curl), 200, "{curl}");
        assert_eq!(header(&curl, "access-control-allow-origin"), None);
    }

    #[tokio::test]
    async fn post_needs_json_content_type() {
        let s = start(Access::any(), Limits::default()).await;
        let plain = call(
            s.addr,
            "POST",
            &["Host: a", "Content-Type: text/plain"],
            "{}",
        )
        .await;
        let message = rejection(&plain, 415);
        assert_eq!(
            message,
            r#"content type must be application/json; got "text/plain""#
        );
        rejection(&call(s.addr, "POST", &["Host: a"], "{}").await, 415);
        let ct = "Content-Type: Application/JSON; charset=utf-8";
        let ok = call(s.addr, "POST", &["Host: a", ct], "[1,2]").await;
        assert_eq!((status(&ok), body(&ok)), (200, "[1,2]"), "{ok}");
    }

    #[tokio::test]
    async fn oversize_bodies_are_refused() {
        let limits = Limits {
            max_body_bytes: 1000,
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let head = format!("POST / HTTP/1.1\r\nHost: a\r\n{JSON}\r\n");
        // Refused from the header alone: the body is never sent.
        let declared = exchange(s.addr, &format!("{head}Content-Length: 2000\r\n\r\n")).await;
        assert!(rejection(&declared, 413).contains("larger than 1000 bytes"));
        let chunk = "a".repeat(1500);
        let chunked =
            format!("{head}Transfer-Encoding: chunked\r\n\r\n5dc\r\n{chunk}\r\n0\r\n\r\n");
        rejection(&exchange(s.addr, &chunked).await, 413);
        let small = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n[1]\r\n0\r\n\r\n";
        let ok = exchange(s.addr, &format!("{head}{small}")).await;
        assert_eq!((status(&ok), body(&ok)), (200, "[1]"), "{ok}");
    }

    #[tokio::test]
    async fn limit_above_axum_default_is_ours() {
        let limits = Limits {
            max_body_bytes: 3_000_000,
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let big = "1".repeat(2_500_000);
        let reply = exchange(s.addr, &request("POST", "/len", &["Host: a", JSON], &big)).await;
        assert_eq!(
            (status(&reply), body(&reply)),
            (200, "2500000"),
            "{reply:.300}"
        );
    }

    #[tokio::test]
    async fn slow_body_times_out() {
        let limits = Limits {
            body_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let mut stream = TcpStream::connect(s.addr).await.unwrap();
        let started = Instant::now();
        let head = format!("POST / HTTP/1.1\r\nHost: a\r\n{JSON}\r\nContent-Length: 100\r\n\r\n");
        stream
            .write_all(format!("{head}0123456789").as_bytes())
            .await
            .unwrap();
        let reply = read_all(&mut stream).await;
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
        assert!(rejection(&reply, 408).contains("body timeout"));
    }

    #[tokio::test]
    async fn slowloris_is_disconnected() {
        let limits = Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let mut stream = TcpStream::connect(s.addr).await.unwrap();
        let started = Instant::now();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .unwrap();
        let reply = read_all(&mut stream).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < LONG,
            "{took:?}"
        );
        assert!(!reply.contains(" 200 "), "{reply}");
    }

    #[tokio::test]
    async fn idle_keep_alive_is_closed() {
        let limits = Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let mut stream = TcpStream::connect(s.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let answered = read_answer(&mut stream).await;
        let rest = read_all(&mut stream).await;
        let took = answered.elapsed();
        assert!(rest.is_empty(), "{rest}");
        assert!(
            took >= Duration::from_millis(250) && took < LONG,
            "{took:?}"
        );
    }

    /// Reads the keep-alive answer "hello" to `GET /` and returns when it came.
    async fn read_answer(stream: &mut TcpStream) -> Instant {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"\r\n\r\nhello") {
            let n = timeout(LONG, stream.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "closed before the answer");
            seen.extend_from_slice(&buf[..n]);
        }
        Instant::now()
    }

    /// Whether `stream` gets no byte within 300 ms.
    async fn silent(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        timeout(Duration::from_millis(300), stream.read(&mut byte))
            .await
            .is_err()
    }

    #[tokio::test]
    async fn connection_limit_queues_the_rest() {
        let limits = Limits {
            max_connections: 2,
            ..Limits::default()
        };
        let s = start(Access::any(), limits).await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut idle = TcpStream::connect(s.addr).await.unwrap();
            idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
                .await
                .unwrap();
            held.push(idle);
        }
        sleep(Duration::from_millis(100)).await;
        let mut third = TcpStream::connect(s.addr).await.unwrap();
        third
            .write_all(request("GET", "/", &["Host: a"], "").as_bytes())
            .await
            .unwrap();
        assert!(
            silent(&mut third).await,
            "answered while both slots were held"
        );
        drop(held.pop());
        assert_eq!(status(&read_all(&mut third).await), 200);
    }

    #[tokio::test]
    async fn connect_info_is_present() {
        let s = start(Access::any(), Limits::default()).await;
        let mut stream = TcpStream::connect(s.addr).await.unwrap();
        let local = stream.local_addr().unwrap().to_string();
        stream
            .write_all(request("GET", "/peer", &["Host: a"], "").as_bytes())
            .await
            .unwrap();
        let reply = read_all(&mut stream).await;
        assert_eq!(
            (status(&reply), body(&reply)),
            (200, local.as_str()),
            "{reply}"
        );
    }

    #[tokio::test]
    async fn websocket_upgrade_works_and_holds_a_slot() {
        let limits = Limits {
            max_connections: 1,
            ..Limits::default()
        };
        let s = start(Access::local(), limits).await;
        let mut ws = TcpStream::connect(s.addr).await.unwrap();
        let upgrade = "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n\
            Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        ws.write_all(upgrade.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(timeout(LONG, ws.read_u8()).await.unwrap().unwrap());
        }
        let head = String::from_utf8(head).unwrap();
        assert_eq!(status(&head), 101, "{head}");
        assert_eq!(
            header(&head, "sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        // A masked text frame "hi" comes back unmasked.
        let m = [1u8, 2, 3, 4];
        ws.write_all(&[0x81, 0x82, m[0], m[1], m[2], m[3], b'h' ^ m[0], b'i' ^ m[1]])
            .await
            .unwrap();
        let mut echoed = [0u8; 4];
        timeout(LONG, ws.read_exact(&mut echoed))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echoed, [0x81, 0x02, b'h', b'i']);

        // The upgraded socket keeps its connection slot until it closes.
        let mut other = TcpStream::connect(s.addr).await.unwrap();
        other
            .write_all(request("GET", "/", &["Host: localhost"], "").as_bytes())
            .await
            .unwrap();
        assert!(
            silent(&mut other).await,
            "answered while the WebSocket held the only slot"
        );
        drop(ws);
        assert_eq!(status(&read_all(&mut other).await), 200);
    }

    #[tokio::test]
    async fn graceful_shutdown_finishes_in_flight_requests() {
        let s = start(Access::any(), Limits::default()).await;
        // An idle keep-alive connection is closed at once, not after the 5 s grace.
        let mut idle = TcpStream::connect(s.addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        read_answer(&mut idle).await;
        let mut busy = TcpStream::connect(s.addr).await.unwrap();
        busy.write_all(request("GET", "/slow", &["Host: a"], "").as_bytes())
            .await
            .unwrap();
        sleep(Duration::from_millis(100)).await;
        s.stop.send(()).unwrap();
        let reply = read_all(&mut busy).await;
        assert_eq!((status(&reply), body(&reply)), (200, "done"), "{reply}");
        timeout(LONG, s.task).await.unwrap().unwrap().unwrap();
        assert_eq!(read_all(&mut idle).await, "");
        assert!(
            TcpStream::connect(s.addr).await.is_err(),
            "still accepting after shutdown"
        );
    }

    #[tokio::test]
    async fn shutdown_grace_is_bounded() {
        let s = start_with(Access::any(), Limits::default(), Duration::from_millis(300)).await;
        let mut stuck = TcpStream::connect(s.addr).await.unwrap();
        stuck
            .write_all(request("GET", "/stuck", &["Host: a"], "").as_bytes())
            .await
            .unwrap();
        sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        s.stop.send(()).unwrap();
        timeout(LONG, s.task).await.unwrap().unwrap().unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(1500));
        assert_eq!(
            read_all(&mut stuck).await,
            "",
            "the stuck request was dropped"
        );
    }

    #[test]
    fn limits_from_lookup() {
        let lookup = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Limits::from_lookup(move |name| map.get(name).cloned())
        };
        let d = Limits::default();
        assert_eq!(lookup(&[]), Ok(d.clone()));
        assert_eq!(lookup(&[("MACH_HTTP_MAX_CONNECTIONS", "")]), Ok(d.clone()));
        assert_eq!((d.max_body_bytes, d.max_connections), (1_048_576, 512));
        assert_eq!(
            (d.header_timeout.as_secs(), d.body_timeout.as_secs()),
            (10, 30)
        );
        let set = lookup(&[
            ("MACH_HTTP_MAX_BODY_BYTES", "2048"),
            ("MACH_HTTP_HEADER_TIMEOUT_SECS", " 3 "),
            ("MACH_HTTP_BODY_TIMEOUT_SECS", "4"),
            ("MACH_HTTP_MAX_CONNECTIONS", "5"),
        ]);
        let secs = Duration::from_secs;
        let expected = Limits {
            max_body_bytes: 2048,
            header_timeout: secs(3),
            body_timeout: secs(4),
            max_connections: 5,
        };
        assert_eq!(set, Ok(expected));
        for bad in ["0", "abc", "-1", "1.5"] {
            for name in ["MACH_HTTP_MAX_BODY_BYTES", "MACH_HTTP_HEADER_TIMEOUT_SECS"] {
                let error = lookup(&[(name, bad)]).unwrap_err();
                assert_eq!(error, format!("{name}=\"{bad}\" is not a positive integer"));
            }
        }
    }
}
