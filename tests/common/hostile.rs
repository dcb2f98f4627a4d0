//! A small hostile HTTP/1.1 server for the test suite: a plain tokio TCP server that answers each
//! request as a test's handler says, including answers no well-behaved service gives (a next link
//! to itself, `Retry-After: 0` forever, an endless body, a connection dropped after the work was
//! done, stale reads). It counts and logs every request it read.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the server does with one request.
pub enum Reply {
    /// A status and a JSON body.
    Json(u16, Value),
    /// A status, headers and a body, as given.
    Raw { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// A 200 whose body never ends (chunks of zeros until the client goes away).
    Endless,
    /// The connection closed without an answer (after whatever the handler did).
    Drop,
    /// The reply, after a pause.
    After(Duration, Box<Reply>),
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Raw { status, headers: vec![], body: vec![] }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct Hostile {
    pub base: String,
    count: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    /// Starts a server on a free loopback port; `handler` answers each request.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (c, l) = (count.clone(), log.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, c, l) = (handler.clone(), c.clone(), l.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, handler, c, l).await;
                });
            }
        });
        Hostile { base, count, log, task }
    }

    /// Requests read so far.
    pub fn requests(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Every request read so far (only the first 10,000 are kept).
    pub fn log(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    count: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Request>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf).await? else { return Ok(()) };
        count.fetch_add(1, Ordering::SeqCst);
        {
            let mut l = log.lock().unwrap();
            if l.len() < 10_000 {
                l.push(req.clone());
            }
        }
        let mut reply = handler(&req);
        while let Reply::After(pause, inner) = reply {
            tokio::time::sleep(pause).await;
            reply = *inner;
        }
        match reply {
            Reply::Json(status, body) => {
                let body = body.to_string().into_bytes();
                let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
                write_response(&mut stream, status, &headers, &body).await?;
            }
            Reply::Raw { status, headers, body } => write_response(&mut stream, status, &headers, &body).await?,
            Reply::Endless => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                    .await?;
                stream.write_all(b"{\"value\":[").await?;
                let chunk = vec![b' '; 64 * 1024];
                loop {
                    stream.write_all(&chunk).await?;
                }
            }
            Reply::Drop => return Ok(()),
            Reply::After(..) => unreachable!(),
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (first.next().unwrap_or_default().to_string(), first.next().unwrap_or_default().to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    buf.drain(..head_end + 4);
    while buf.len() < len {
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf.drain(..len).collect();
    Ok(Some(Request { method, path, headers, body }))
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

/// The approver the hostile tests sign in as.
pub const ME: &str = "11111111-2222-3333-4444-555555555555";

/// A Graph token that passes every check made before a call (audience, expiry, scopes), for `ME`.
pub fn graph_token() -> String {
    token_with(json!({}))
}

/// A Graph token for `ME`, with `extra` claims over the defaults.
pub fn token_with(extra: Value) -> String {
    let mut claims = json!({
        "aud": "https://graph.microsoft.com",
        "exp": 4_000_000_000i64,
        "scp": "RoleAssignmentSchedule.ReadWrite.Directory PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
        "oid": ME,
    });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    format!("{}.{}.sig", B64.encode(b"{\"alg\":\"none\"}"), B64.encode(claims.to_string()))
}

/// A GUID made from a number, for approval ids.
pub fn guid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// A directory-role approval (beta) with one step for me: open, or decided by `who` with
/// `justification`.
pub fn approval(id: &str, decided: Option<(&str, &str, &str)>) -> Value {
    let step = match decided {
        None => json!({"id": "s1", "status": "InProgress", "assignedToMe": true, "reviewResult": "NotReviewed"}),
        Some((result, who, justification)) => json!({
            "id": "s1", "status": "Completed", "assignedToMe": true, "reviewResult": result,
            "justification": justification, "reviewedDateTime": "2026-11-26T10:00:00Z",
            "reviewedBy": [{"id": who, "displayName": if who == ME { "Me Myself" } else { "Megan Bowen" }}]
        }),
    };
    json!({"id": id, "steps": [step]})
}

/// Answers a `$batch` request item by item: `item` gives each one's status and body.
pub fn batch(req: &Request, mut item: impl FnMut(&Value) -> (u16, Value)) -> Reply {
    let requests = req.json()["requests"].as_array().cloned().unwrap_or_default();
    let responses: Vec<Value> = requests
        .iter()
        .map(|r| {
            let (status, body) = item(r);
            json!({"id": r["id"], "status": status, "headers": {"Content-Type": "application/json"}, "body": body})
        })
        .collect();
    Reply::Json(200, json!({ "responses": responses }))
}

/// The approval id in a batch item's or request's URL (`.../roleAssignmentApprovals/{id}[/steps/..]`).
pub fn approval_of(url: &str) -> String {
    let path = url.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .position(|s| {
            s.eq_ignore_ascii_case("roleAssignmentApprovals") || s.eq_ignore_ascii_case("assignmentApprovals")
        })
        .and_then(|i| segments.get(i + 1))
        .unwrap_or(&"")
        .to_string()
}
