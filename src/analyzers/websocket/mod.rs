//! WebSocket (RFC 6455) analysis: the frame parser and the per-direction
//! frame stream that survives TCP gaps.

pub mod frame;
pub mod message;
pub mod midstream;

pub use frame::{
    parse_header, unmask, unmask_into, FrameHeader, FrameProblem, FrameSink, FrameStream, Opcode,
    Parsed, PayloadHead, StreamItem,
};
pub use message::{Inflated, Inflater, Utf8Check};
