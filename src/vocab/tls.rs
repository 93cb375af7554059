//! TLS code points as the wire has them, with the properties the
//! protocol gives them; their names and advice are in `knowledge::tls`.

/// Whether `v` is one of the GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ...
/// 0xfafa): both bytes equal, each with low nibble 0xa. Clients put them in
/// cipher suite, group, version and extension lists so that servers learn to
/// ignore unknown values; they never mean anything.
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}
