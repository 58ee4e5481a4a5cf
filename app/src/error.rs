//! What a server function answers when it does not succeed: a kind the page can match on and a
//! sentence for the person. Sent as JSON (`{"kind": "forbidden", "message": "…"}`), so programs
//! calling the server functions read the same.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a server function did not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nobody is signed in.
    SignedOut,
    /// The person's role (or token) does not allow it.
    Forbidden,
    /// What was asked for does not exist, or is not theirs to see.
    NotFound,
    /// The request itself was refused, with the reason (a bad value, a job in the wrong state).
    Refused,
    /// The server failed; the details are in its log, not in the page.
    Server,
    /// The request did not reach the server, or its answer could not be read.
    Connection,
}

/// A server function's error: its kind and a sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AppError {
            kind,
            message: message.into(),
        }
    }

    /// The person's request, refused with `reason`.
    pub fn refused(reason: impl Into<String>) -> Self {
        AppError::new(ErrorKind::Refused, reason)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) | ServerFnErrorErr::Response(e) => AppError::new(
                ErrorKind::Connection,
                format!(
                    "the server could not be reached ({e}); check the connection and try again"
                ),
            ),
            ServerFnErrorErr::Deserialization(e) => AppError::new(
                ErrorKind::Connection,
                format!("the server's answer could not be read ({e}); reload the page"),
            ),
            ServerFnErrorErr::Args(e) | ServerFnErrorErr::MissingArg(e) => {
                AppError::refused(format!("the request was incomplete: {e}"))
            }
            ServerFnErrorErr::UnsupportedRequestMethod(e) => AppError::refused(e),
            other => AppError::new(ErrorKind::Server, other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::auth::AccessError> for AppError {
    fn from(error: crate::auth::AccessError) -> Self {
        let kind = match error {
            crate::auth::AccessError::SignedOut => ErrorKind::SignedOut,
            crate::auth::AccessError::Forbidden => ErrorKind::Forbidden,
        };
        AppError::new(kind, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_travels_as_its_kind_and_its_sentence() {
        let error = AppError::new(ErrorKind::Forbidden, "your role does not allow this");
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"forbidden","message":"your role does not allow this"}"#
        );
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), error);
        assert_eq!(error.to_string(), "your role does not allow this");
        let lost = AppError::from_server_fn_error(ServerFnErrorErr::Request("timed out".into()));
        assert_eq!(lost.kind, ErrorKind::Connection);
    }
}
