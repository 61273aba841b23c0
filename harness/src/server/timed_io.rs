//! A TCP stream that times out when a read or write waits too long.

use super::*;

/// A TCP stream whose reads and writes fail with `TimedOut` once one has waited `limit`.
pub(super) struct TimedIo {
    inner: tokio::net::TcpStream,
    limit: Duration,
    read_wait: Option<Pin<Box<tokio::time::Sleep>>>,
    write_wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedIo {
    pub(super) fn new(inner: tokio::net::TcpStream, limit: Duration) -> Self {
        TimedIo {
            inner,
            limit,
            read_wait: None,
            write_wait: None,
        }
    }
}

/// `Pending` from the stream: start (or check) the wait; past `limit` it is an error.
pub(super) fn waited<T>(
    wait: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Duration,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<io::Result<T>> {
    let sleep = wait.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {what} for {} s", limit.as_secs()),
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => waited(&mut this.read_wait, this.limit, cx, "request"),
            ready => {
                this.read_wait = None;
                ready
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => waited(&mut this.write_wait, this.limit, cx, "progress writing"),
            ready => {
                this.write_wait = None;
                ready
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => waited(&mut this.write_wait, this.limit, cx, "progress writing"),
            ready => {
                this.write_wait = None;
                ready
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
