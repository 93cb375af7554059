//! WebSocket (RFC 6455) analysis: the frame parser and the per-direction
//! frame stream that survives TCP gaps.

pub mod frame;

pub use frame::{
    parse_header, FrameHeader, FrameProblem, FrameStream, Opcode, Parsed, PayloadHead, StreamItem,
};
