//! wsforensics: explain why WebSocket and TLS connections in a packet
//! capture ended.
//!
//! The pipeline flows one way (see `DESIGN.md`): [`capture`] streams frames,
//! [`decode`] turns them into TCP segments, [`flow`] reassembles each
//! connection's two byte streams, [`engine`] runs that over all cores, and
//! [`report`] renders the result. [`cli`] drives it.

pub mod analyzers;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod diagnose;
pub mod engine;
pub mod flow;
pub mod knowledge;
pub mod limits;
pub mod report;
pub mod vocab;
