//! Holds N live results streams open, as N dashboards would, for a bounded
//! time, and reports how fresh their events were: for every event every
//! viewer received, arrival time minus the `as_of` (commit time) it
//! carries. Same machine, same clock. Used by `bench/viewers.sh`.
//!
//! One thread, plain sockets: a viewer costs the machine a read per event,
//! so what the figures show is the server's delay, not the watcher's. (The
//! Python asyncio watcher it replaced spent a core parsing 60,000 events a
//! second and its own backlog was most of the delay it reported.)
//!
//! Usage: `viewers URL VIEWERS SECONDS READY_FILE` — writes READY_FILE once
//! every stream has sent its first event, then watches for SECONDS.
//! Prints: `URNA viewers=N open=M events=E fresh_p50_ms=… fresh_p99_ms=… fresh_max_ms=…`
#![allow(clippy::print_stdout, reason = "a benchmark's answer is its output")]
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What every viewer shares (one thread: no locks).
#[derive(Default)]
struct Watch {
    opened: Cell<usize>,
    watching: Cell<bool>,
    /// (arrival, `as_of` as sent) for every event received while watching.
    seen: RefCell<Vec<(SystemTime, String)>>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, viewers, seconds, ready] = &args[..] else {
        return Err("usage: viewers URL VIEWERS SECONDS READY_FILE".into());
    };
    let rest = url.strip_prefix("http://").ok_or("an http:// URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let viewers: usize = viewers.parse()?;
    let seconds: f64 = seconds.parse()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let watch = Rc::new(Watch::default());
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        for i in 0..viewers {
            tokio::task::spawn_local(viewer(host.to_owned(), request.clone(), watch.clone()));
            if i % 200 == 199 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while watch.opened.get() < viewers && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::fs::write(ready, watch.opened.get().to_string())?;
        watch.watching.set(true);
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        watch.watching.set(false);
        Ok::<_, std::io::Error>(())
    })?;
    let mut fresh: Vec<f64> = watch
        .seen
        .borrow()
        .iter()
        .filter_map(|(arrived, as_of)| {
            let committed = chrono::DateTime::parse_from_rfc3339(as_of).ok()?;
            let arrived = chrono::DateTime::<chrono::Utc>::from(*arrived);
            Some((arrived - committed.to_utc()).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    fresh.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        fresh
            .get(((q * fresh.len() as f64) as usize).min(fresh.len().saturating_sub(1)))
            .map_or("nan".into(), |v| format!("{v:.0}"))
    };
    println!(
        "URNA viewers={viewers} open={} events={} fresh_p50_ms={} fresh_p99_ms={} fresh_max_ms={}",
        watch.opened.get(),
        fresh.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    Ok(())
}

/// One dashboard: connects (retrying a few times), asks for the stream and
/// notes the `as_of` of every event that arrives while watching.
async fn viewer(host: String, request: String, watch: Rc<Watch>) {
    let mut stream = None;
    for attempt in 1..=20u64 {
        match TcpStream::connect(&host).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50 * attempt)).await,
        }
    }
    let Some(mut stream) = stream else { return };
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut first = true;
    let mut buf = vec![0u8; 16 << 10];
    let mut pending = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(chunk) = buf.get(..n) else { return };
        if first && contains(chunk, b"data: ") {
            first = false;
            watch.opened.set(watch.opened.get() + 1);
        }
        if !watch.watching.get() {
            continue;
        }
        let now = SystemTime::now();
        pending.extend_from_slice(chunk);
        let mut seen = watch.seen.borrow_mut();
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            if let Some(as_of) = pending.get(..end).filter(|l| l.starts_with(b"data: ")).and_then(as_of) {
                seen.push((now, String::from_utf8_lossy(as_of).into_owned()));
            }
            pending.drain(..=end);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The `as_of` string of an event's JSON line.
fn as_of(line: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"as_of\":\"";
    let start = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = line.get(start..)?;
    rest.get(..rest.iter().position(|&b| b == b'"')?)
}
