//! Analyze layer: protocol analyzers that read a connection's reassembled
//! byte streams, by content and not by port. They consume the flow layer's
//! events and emit typed facts for the diagnose layer.

pub mod http;
pub mod session;
pub mod tls;
pub mod websocket;
