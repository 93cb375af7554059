//! Knowledge base: what each WebSocket close code means, when it shows up
//! and what to change, as data. A leaf module: only the diagnose layer and
//! the report's names read it.

pub mod close_codes;
pub mod http;
pub mod proxies;
pub mod subprotocols;
pub mod timeouts;
pub mod tls;

pub use close_codes::{lookup, CloseCodeInfo, CodeClass, CLOSE_CODES};
