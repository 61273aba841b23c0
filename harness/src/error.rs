//! The harness's user-facing error: bad input (exit 2) or a failure of the harness itself (exit 1).

#[derive(Debug)]
pub enum Error {
    /// A scenario, flag or result file that cannot be used; the message names it.
    Input(String),
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Other(_) => 1,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Input(m) | Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
