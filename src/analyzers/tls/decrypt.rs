//! Record decryption with secrets from a key log: the keys of TLS 1.3
//! (HKDF-Expand-Label, RFC 8446 §7) and of TLS 1.2 (the PRF's key block,
//! RFC 5246 §6.3), and the AEAD record protection both use: AES-GCM
//! (RFC 5288) and ChaCha20-Poly1305 (RFC 7905). The cryptography is
//! ring's; this module only arranges the inputs.

use ring::{aead, hkdf, hmac};

use crate::vocab::tls::ContentType;

/// The AEAD and hash of a cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    aead: &'static aead::Algorithm,
    sha384: bool,
    /// TLS 1.2 AES-GCM: 4 bytes of implicit IV, 8 explicit in each record.
    explicit_nonce: bool,
}

/// Suites this module decrypts: the AEAD suites of TLS 1.3, and the
/// (EC)DHE and RSA key exchange AEAD suites of TLS 1.2. `None` for the
/// rest (CBC and CCM suites, which the issue leaves out).
pub fn suite(cipher: u16) -> Option<Suite> {
    let (aead, sha384, explicit_nonce) = match cipher {
        0x1301 => (&aead::AES_128_GCM, false, false),
        0x1302 => (&aead::AES_256_GCM, true, false),
        0x1303 => (&aead::CHACHA20_POLY1305, false, false),
        // *_WITH_AES_128_GCM_SHA256: RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA.
        0x009c | 0x009e | 0xc02b | 0xc02f => (&aead::AES_128_GCM, false, true),
        // *_WITH_AES_256_GCM_SHA384.
        0x009d | 0x009f | 0xc02c | 0xc030 => (&aead::AES_256_GCM, true, true),
        // *_WITH_CHACHA20_POLY1305_SHA256: ECDHE_RSA, ECDHE_ECDSA, DHE_RSA.
        0xcca8..=0xccaa => (&aead::CHACHA20_POLY1305, false, false),
        _ => return None,
    };
    Some(Suite {
        aead,
        sha384,
        explicit_nonce,
    })
}

/// Whether `cipher` is a TLS 1.3 suite (RFC 8446 §B.4). The key schedule
/// and record nonce of one version do not fit the other's suites: a TLS
/// 1.2 AES-GCM record carries an explicit nonce that TLS 1.3 keys have no
/// room for.
pub fn is_tls13_suite(cipher: u16) -> bool {
    matches!(cipher, 0x1301..=0x1305)
}

/// An output length for ring's HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(secret, label, "", len) of RFC 8446 §7.1.
fn expand_label(suite: Suite, secret: &[u8], label: &[u8], len: usize) -> Option<Vec<u8>> {
    let alg = if suite.sha384 {
        hkdf::HKDF_SHA384
    } else {
        hkdf::HKDF_SHA256
    };
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    let full_len = u8::try_from(6 + label.len()).ok()?;
    let out_len = u16::try_from(len).ok()?.to_be_bytes();
    let info: [&[u8]; 5] = [&out_len, &[full_len], b"tls13 ", label, &[0]];
    let okm = prk.expand(&info, Len(len)).ok()?;
    let mut out = vec![0; len];
    okm.fill(&mut out).ok()?;
    Some(out)
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed), `len`
/// bytes, with the suite's hash.
fn prf(suite: Suite, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let alg = if suite.sha384 {
        hmac::HMAC_SHA384
    } else {
        hmac::HMAC_SHA256
    };
    let key = hmac::Key::new(alg, secret);
    let mut a = {
        let mut c = hmac::Context::with_key(&key);
        c.update(label);
        c.update(seed);
        c.sign()
    };
    let mut out = Vec::with_capacity(len + 48);
    while out.len() < len {
        let mut c = hmac::Context::with_key(&key);
        c.update(a.as_ref());
        c.update(label);
        c.update(seed);
        out.extend_from_slice(c.sign().as_ref());
        a = hmac::sign(&key, a.as_ref());
    }
    out.truncate(len);
    out
}

/// Why a record could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than the nonce and tag.
    TooShort,
    /// The tag did not match: wrong key, or the record was altered.
    Authentication,
}

/// The keys of one direction, and its record sequence number.
pub struct DirKeys {
    suite: Suite,
    key: aead::LessSafeKey,
    /// The fixed IV: 12 bytes, or for TLS 1.2 AES-GCM the 4-byte salt
    /// (the record's explicit nonce fills the other 8).
    iv: [u8; 12],
    seq: u64,
    tls13: bool,
    /// The TLS 1.3 traffic secret, for KeyUpdate.
    secret: Vec<u8>,
}

impl DirKeys {
    fn new(suite: Suite, key: &[u8], iv: &[u8], tls13: bool, secret: Vec<u8>) -> Option<DirKeys> {
        let unbound = aead::UnboundKey::new(suite.aead, key).ok()?;
        let mut fixed = [0u8; 12];
        fixed.get_mut(..iv.len())?.copy_from_slice(iv);
        Some(DirKeys {
            suite,
            key: aead::LessSafeKey::new(unbound),
            iv: fixed,
            seq: 0,
            tls13,
            secret,
        })
    }

    /// TLS 1.3 keys from a traffic secret.
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<DirKeys> {
        let key = expand_label(suite, secret, b"key", suite.aead.key_len())?;
        let iv = expand_label(suite, secret, b"iv", 12)?;
        DirKeys::new(suite, &key, &iv, true, secret.to_vec())
    }

    /// TLS 1.2 keys of both directions (client's first) from the master
    /// secret and the hello randoms.
    pub fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<[DirKeys; 2]> {
        let key_len = suite.aead.key_len();
        let iv_len = if suite.explicit_nonce { 4 } else { 12 };
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(server_random);
        seed.extend_from_slice(client_random);
        // AEAD suites have no MAC keys: client key, server key, client
        // IV, server IV.
        let block = prf(
            suite,
            master,
            b"key expansion",
            &seed,
            2 * (key_len + iv_len),
        );
        let (ck, rest) = block.split_at(key_len);
        let (sk, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        Some([
            DirKeys::new(suite, ck, civ, false, Vec::new())?,
            DirKeys::new(suite, sk, siv, false, Vec::new())?,
        ])
    }

    /// The next TLS 1.3 traffic secret's keys (KeyUpdate, RFC 8446 §7.2).
    pub fn update(&self) -> Option<DirKeys> {
        let len = if self.suite.sha384 { 48 } else { 32 };
        let next = expand_label(self.suite, &self.secret, b"traffic upd", len)?;
        DirKeys::tls13(self.suite, &next)
    }

    /// Decrypt one record in place: `header` is its 5-byte header,
    /// `body` its fragment. Returns the content type and the plaintext's
    /// range in `body` (TLS 1.3: the inner type, padding removed).
    pub fn open(
        &mut self,
        header: [u8; 5],
        body: &mut [u8],
    ) -> Result<(ContentType, std::ops::Range<usize>), OpenError> {
        let tag = self.suite.aead.tag_len();
        let explicit = if self.suite.explicit_nonce { 8 } else { 0 };
        if body.len() < explicit + tag {
            return Err(OpenError::TooShort);
        }
        let mut nonce = self.iv;
        if self.suite.explicit_nonce {
            // RFC 5288 §3: the salt, then the record's first 8 bytes.
            for (n, &e) in nonce.iter_mut().skip(4).zip(body.iter().take(8)) {
                *n = e;
            }
        } else {
            // RFC 8446 §5.3, RFC 7905 §2: the IV XOR the sequence number.
            for (n, s) in nonce.iter_mut().skip(4).zip(self.seq.to_be_bytes()) {
                *n ^= s;
            }
        }
        let plain_len = body.len() - explicit - tag;
        let mut aad12 = [0u8; 13];
        let aad: &[u8] = if self.tls13 {
            &header
        } else {
            aad12[..8].copy_from_slice(&self.seq.to_be_bytes());
            aad12[8..11].copy_from_slice(&header[..3]);
            aad12[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
            &aad12
        };
        let opened = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                body.get_mut(explicit..).ok_or(OpenError::TooShort)?,
            )
            .map_err(|_| OpenError::Authentication)?;
        self.seq = self.seq.wrapping_add(1);
        if !self.tls13 {
            return Ok((ContentType(header[0]), explicit..explicit + opened.len()));
        }
        // TLSInnerPlaintext: content, the real type, then zero padding.
        let Some((end, &ty)) = opened.iter().enumerate().rfind(|&(_, &b)| b != 0) else {
            return Err(OpenError::Authentication);
        };
        Ok((ContentType(ty), explicit..explicit + end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): the server handshake traffic
    /// secret gives the write key and IV the RFC lists.
    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let suite = suite(0x1301).unwrap();
        let secret = unhex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        assert_eq!(
            expand_label(suite, &secret, b"key", 16).unwrap(),
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(
            expand_label(suite, &secret, b"iv", 12).unwrap(),
            unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30")
        );
    }

    /// A record sealed with the derived keys opens with the same
    /// sequence number only, and its padding and inner type come off.
    #[test]
    fn tls13_record_round_trip_and_wrong_sequence() {
        let suite = suite(0x1303).unwrap();
        let mut k = DirKeys::tls13(suite, &[7; 32]).unwrap();
        let mut body = b"hello".to_vec();
        body.push(23);
        body.extend_from_slice(&[0; 4]);
        let header = [23, 3, 3, 0, (body.len() + 16) as u8];
        let mut nonce = k.iv;
        nonce[11] ^= 1;
        k.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(header),
                &mut body,
            )
            .unwrap();
        assert_eq!(
            k.open(header, &mut body.clone()),
            Err(OpenError::Authentication)
        );
        assert_eq!(k.seq, 0);
        k.seq = 1;
        let (ty, range) = k.open(header, &mut body).unwrap();
        assert_eq!(
            (ty, &body[range]),
            (ContentType::APPLICATION_DATA, &b"hello"[..])
        );
        assert_eq!(k.seq, 2);
    }

    /// RFC 5246's PRF with SHA-256, against the widely used test vector
    /// (IETF TLS WG mailing list, "TLS 1.2 PRF test vectors").
    #[test]
    fn tls12_prf_sha256_vector() {
        let suite = suite(0xc02f).unwrap();
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(suite, &secret, b"test label", &seed, 100);
        assert_eq!(
            out,
            unhex(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
                 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
                 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
                 87 34 7b 66"
            )
        );
    }
}
