//! A server process for a backend's tests (OpenBao, moto, drongo, nats-server): on a free
//! loopback port, ready before the test goes on, and gone with the test; and [`http_request`],
//! the one small HTTP/1.1 client test harnesses use to poke such a server.
//!
//! The server runs under a small shell that kills it when the shell's standard input closes:
//! when the [`LocalServer`] is dropped, and also when the test process exits however it exits,
//! so a server shared by every test of a binary never outlives the binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The program `name` on `PATH`, if any.
pub fn program_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A loopback port that is free now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A free loopback port whose next port is free too (servers with a second listener).
pub fn free_port_pair() -> u16 {
    loop {
        let port = free_port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// What [`http_request`] got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The body, a chunked one decoded.
    pub body: String,
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`, 30 s read timeout),
/// with `headers` besides `Host` and `Content-Length`.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<HttpAnswer, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let headers: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, rest) = answer.split_once("\r\n\r\n").ok_or("no HTTP head")?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok(HttpAnswer { status, body: if chunked { dechunk(rest) } else { rest.to_owned() } })
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerSpec<'a> {
    /// Its name, in messages.
    pub name: &'a str,
    /// The shell command that runs it in the foreground; `$PORT` is its port and `$DIR` a
    /// directory that lives as long as the server. Output goes to the server's log.
    pub command: &'a str,
    /// The port after `$PORT` must be free too.
    pub port_pair: bool,
    /// How long it may take to become ready.
    pub ready_within: Duration,
    /// How many times to try (a port can be taken between probe and bind).
    pub attempts: usize,
}

/// A running server; stopped on drop.
#[derive(Debug)]
pub struct LocalServer {
    port: u16,
    shell: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

impl LocalServer {
    /// Starts the server of `spec` and waits until `ready` says it answers.
    pub fn start(spec: &ServerSpec<'_>, ready: impl Fn(&LocalServer) -> bool) -> Result<LocalServer, String> {
        let mut last_error = String::new();
        for _ in 0..spec.attempts.max(1) {
            match Self::try_start(spec, &ready) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(format!("{} did not start: {last_error}", spec.name))
    }

    fn try_start(spec: &ServerSpec<'_>, ready: &impl Fn(&LocalServer) -> bool) -> Result<LocalServer, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = if spec.port_pair { free_port_pair() } else { free_port() };
        let script =
            format!("{} >\"$DIR/server.log\" 2>&1 & child=$!; read _ignored; kill $child; wait $child", spec.command);
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PORT", port.to_string())
            .env("DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn sh: {e}"))?;
        let stdin = shell.stdin.take();
        let mut server = LocalServer { port, shell, stdin, dir };
        let deadline = Instant::now() + spec.ready_within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.shell.try_wait() {
                let log = server.log();
                return Err(format!("it exited: {}", log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")));
            }
            if ready(&server) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("it did not answer within {:?}", spec.ready_within))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for LocalServer {
    /// Closes the shell's input (it then stops the server), waits up to 10 s, then kills it.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.shell.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}
