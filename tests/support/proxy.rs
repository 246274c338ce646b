//! A loopback TCP proxy that adds a fixed delay to every HTTP request, to see how a scan
//! behaves when each round trip costs what it costs on a real network.
//!
//! It knows just enough HTTP/1.1 to find request boundaries: a client sends a request, then
//! waits for the whole response before it sends the next one on the same connection (no
//! pipelining: reqwest and hyper never pipeline). So the first bytes a client sends on a
//! connection, and the first bytes it sends after the server has answered, start a request;
//! those wait `delay` before they are passed on. The rest of a request (a body) and every
//! response byte pass at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

pub struct LatencyProxy {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LatencyProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`127.0.0.1:PORT`), on a
    /// thread and runtime of its own, until dropped.
    pub fn start(upstream: &str, delay: Duration) -> Self {
        let upstream: SocketAddr = upstream.parse().expect("an upstream ip:port");
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("latency-proxy".into())
            .spawn(move || {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("build the proxy's runtime")
                    .block_on(async move {
                        let listener = TcpListener::from_std(listener).expect("a tokio listener");
                        tokio::select! {
                            _ = stopped => {}
                            _ = accept_loop(listener, upstream, delay) => {}
                        }
                    });
            })
            .expect("start the proxy thread");
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`: give this to a client as the registry's address.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, delay: Duration) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: let some connections close.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(upstream).await {
                relay(client, server, delay).await;
            }
        });
    }
}

/// Copies both ways until either side closes, delaying the start of each request.
async fn relay(client: TcpStream, server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    // Set when the server has sent something since the client last did: the next bytes from
    // the client start a new request.
    let answered = Arc::new(AtomicBool::new(true));
    let answered_up = answered.clone();
    let upstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if answered_up.swap(false, Ordering::SeqCst) {
                        tokio::time::sleep(delay).await;
                    }
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = server_tx.shutdown().await;
    };
    let downstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answered.store(true, Ordering::SeqCst);
                    if client_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = client_tx.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
