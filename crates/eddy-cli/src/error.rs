//! The error every subcommand's `main` returns: a message for stderr and
//! the exit code.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// What went wrong in a subcommand, and the exit code it means.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: u8,
}

impl Error {
    /// A failure: exit code 1.
    pub fn new(message: impl Into<String>) -> Error {
        Error { message: message.into(), code: 1 }
    }

    /// A request that cannot be carried out as asked (an unknown name, a
    /// combination that means nothing): exit code 2, as for a usage error.
    pub fn usage(message: impl Into<String>) -> Error {
        Error { message: message.into(), code: 2 }
    }

    /// The process's exit code for it.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(e.to_string())
    }
}
