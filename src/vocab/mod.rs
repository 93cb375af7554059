//! Shared vocabulary: the few types every layer speaks of (the capture
//! clock, a TCP endpoint, a direction of travel, a value per direction, a
//! point in the capture, wire code points). It sits below every layer and
//! imports none of them, so no layer has to import a later one to name
//! these.

mod time;
pub mod tls;
pub mod websocket;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use time::Timestamp;

/// Declares a wire code point (TLS, WebSocket): a newtype over its wire integer, so that a
/// value no constant names survives and prints as its number, with the
/// named values as associated constants (each keeping its doc comment).
/// `Display` and `LowerHex` write the bare number, as the integer did.
/// Attributes given before the name (docs, serde) go on the type.
macro_rules! code_point {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty) {
            $($(#[$cdoc:meta])* $konst:ident = $value:literal,)+
        }
    ) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $(#[$meta])*
        pub struct $name(pub $int);

        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($value);)+
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::fmt::LowerHex for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}
pub(crate) use code_point;

/// An enum of the JSON contract's words: each variant with its word, and
/// `as_str`, `from_word`, `ALL`, `Display`, `Serialize` and `Deserialize`
/// from that one table.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word of the JSON contract.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value of a contract word, e.g. read back from NDJSON.
            pub fn from_word(word: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        $crate::vocab::word_serde!($name, as_str, from_word);
    };
}
pub(crate) use words;

/// `Serialize` and `Deserialize` of an enum as its contract word, given
/// the methods that name a value and find the value of a name. A word this
/// version does not know is an error that lists the known ones.
macro_rules! word_serde {
    ($name:ident, $as_str:ident, $from_word:ident) => {
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::$from_word(&word).ok_or_else(|| {
                    let known: Vec<&'static str> = $name::ALL.iter().map(|v| v.$as_str()).collect();
                    <D::Error as ::serde::de::Error>::custom(format_args!(
                        "unknown {} `{word}`, expected one of {}",
                        stringify!($name),
                        known.join(", ")
                    ))
                })
            }
        }
    };
}
pub(crate) use word_serde;

/// An IP address and TCP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Direction of travel within a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dir {
    /// From the client (the side that sent the SYN) to the server.
    ClientToServer = 0,
    /// From the server to the client.
    ServerToClient = 1,
}

impl Dir {
    /// 0 or 1, for indexing per-direction arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The side that sends in this direction: "client" or "server".
    pub fn sender(self) -> &'static str {
        match self {
            Dir::ClientToServer => "client",
            Dir::ServerToClient => "server",
        }
    }

    /// The direction whose sender is `word` ("client" or "server").
    pub fn of_sender(word: &str) -> Option<Dir> {
        match word {
            "client" => Some(Dir::ClientToServer),
            "server" => Some(Dir::ServerToClient),
            _ => None,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
}

/// One value per direction, indexed by [`Dir`]: the index cannot be out of
/// bounds, unlike a `[T; 2]` indexed by [`Dir::index`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerDir<T>(pub [T; 2]);

impl<T> PerDir<T> {
    /// The client's value and the server's.
    pub const fn new(client_to_server: T, server_to_client: T) -> Self {
        PerDir([client_to_server, server_to_client])
    }

    /// Both values, client to server first.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// Both values, mutably, client to server first.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }

    /// Each direction with its value, client to server first.
    pub fn iter_dir(&self) -> impl Iterator<Item = (Dir, &T)> {
        [Dir::ClientToServer, Dir::ServerToClient]
            .into_iter()
            .zip(self.0.iter())
    }

    /// Exchange the two directions' values.
    pub fn swap(&mut self) {
        self.0.swap(0, 1);
    }
}

impl<T> std::ops::Index<Dir> for PerDir<T> {
    type Output = T;
    #[inline]
    fn index(&self, dir: Dir) -> &T {
        let [c, s] = &self.0;
        match dir {
            Dir::ClientToServer => c,
            Dir::ServerToClient => s,
        }
    }
}

impl<T> std::ops::IndexMut<Dir> for PerDir<T> {
    #[inline]
    fn index_mut(&mut self, dir: Dir) -> &mut T {
        let [c, s] = &mut self.0;
        match dir {
            Dir::ClientToServer => c,
            Dir::ServerToClient => s,
        }
    }
}

impl<T> From<[T; 2]> for PerDir<T> {
    fn from(both: [T; 2]) -> Self {
        PerDir(both)
    }
}

impl<'a, T> IntoIterator for &'a PerDir<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A point in the capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct At {
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
}

/// A [`Dir`] in the report, as its sender's word (`#[serde(with =
/// "crate::vocab::sender")]`): "client" or "server".
pub mod sender {
    use std::borrow::Cow;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use super::Dir;

    /// `dir` as "client" or "server".
    pub fn serialize<S: Serializer>(dir: &Dir, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(dir.sender())
    }

    /// "client" or "server" as the direction that side sends in.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Dir, D::Error> {
        let word = Cow::<'de, str>::deserialize(d)?;
        Dir::of_sender(&word).ok_or_else(|| {
            D::Error::custom(format_args!(
                "unknown sender `{word}`, expected client or server"
            ))
        })
    }
}
