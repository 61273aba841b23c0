//! Response bodies: a short text, or a file streamed chunk by chunk.

use super::*;

/// A response body: a short text, or a file read chunk by chunk (one chunk in memory at a time,
/// each read on the blocking pool; a slow reader holds no thread).
pub struct Body {
    state: BodyState,
}

pub(super) enum BodyState {
    Bytes(Option<Bytes>),
    FileIdle(std::fs::File, u64),
    FileReading(tokio::task::JoinHandle<(std::fs::File, u64, io::Result<Vec<u8>>)>),
    Done,
}

impl Body {
    pub(super) fn bytes(b: Bytes) -> Body {
        Body {
            state: BodyState::Bytes(Some(b)),
        }
    }

    pub(super) fn file(f: std::fs::File, len: u64) -> Body {
        Body {
            state: BodyState::FileIdle(f, len),
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, BodyState::Done) {
                BodyState::Done => return Poll::Ready(None),
                BodyState::Bytes(b) => {
                    return Poll::Ready(b.filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b))));
                }
                BodyState::FileIdle(_, 0) => return Poll::Ready(None),
                BodyState::FileIdle(mut f, left) => {
                    this.state = BodyState::FileReading(tokio::task::spawn_blocking(move || {
                        use std::io::Read;
                        let want = (left as usize).min(CHUNK);
                        let mut buf = vec![0u8; want];
                        let r = f.read(&mut buf).map(|n| {
                            buf.truncate(n);
                            buf
                        });
                        (f, left, r)
                    }));
                }
                BodyState::FileReading(mut h) => match Pin::new(&mut h).poll(cx) {
                    Poll::Pending => {
                        this.state = BodyState::FileReading(h);
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(Some(Err(io::Error::other(e.to_string()))));
                    }
                    Poll::Ready(Ok((_, _, Err(e)))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(Ok((_, _, Ok(buf)))) if buf.is_empty() => {
                        // The file shrank under us: the promised length cannot be sent.
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shorter than when it was opened",
                        ))));
                    }
                    Poll::Ready(Ok((f, left, Ok(buf)))) => {
                        this.state = BodyState::FileIdle(f, left - buf.len() as u64);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))));
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            BodyState::Done | BodyState::FileIdle(_, 0) => true,
            BodyState::Bytes(b) => b.as_ref().is_none_or(|b| b.is_empty()),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            BodyState::Bytes(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            BodyState::FileIdle(_, left) => SizeHint::with_exact(*left),
            _ => SizeHint::default(),
        }
    }
}
