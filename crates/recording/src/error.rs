//! What can go wrong reading or writing a recording.

/// A recording could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file system refused (`what` says which file and what was being done).
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Something read is not what it should be, or a key does not open it.
    #[error("{0}")]
    Invalid(String),
}

/// A result whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with what was being done (for `map_err`).
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    /// Something read is invalid.
    pub(crate) fn invalid(why: impl Into<String>) -> Error {
        Error::Invalid(why.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            what: "recording I/O failed".into(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Invalid(format!("not valid JSON: {e}"))
    }
}
