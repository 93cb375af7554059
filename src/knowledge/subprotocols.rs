//! WebSocket subprotocols whose close codes are published: the
//! `Sec-WebSocket-Protocol` token that names each (what the server's 101
//! chose), and what each of its codes means in it. A code of 4000-4999
//! means whatever the two applications agreed; when the session's
//! subprotocol is one of these, its documentation says what that was.
//! Protocols that signal errors in their own messages and close with
//! plain codes (STOMP, MQTT, WAMP, SignalR, the Kubernetes channels) have
//! nothing to add here.

use crate::vocab::websocket::CloseCode;

/// One subprotocol.
#[derive(Clone, Copy, Debug)]
pub struct Subprotocol {
    /// Its tokens, as the 101 names them (compared case-sensitively, as
    /// RFC 6455 §4.1 tokens are).
    pub tokens: &'static [&'static str],
    /// Its name for people.
    pub name: &'static str,
    /// Its codes with their documented meaning.
    pub codes: &'static [SubprotocolCode],
    /// Where the codes are documented.
    pub source: &'static str,
}

/// A code of a subprotocol.
#[derive(Clone, Copy, Debug)]
pub struct SubprotocolCode {
    /// The close code.
    pub code: CloseCode,
    /// What it means there, in a few words.
    pub meaning: &'static str,
    /// What to change, when its documentation or meaning says.
    pub fix: &'static str,
}

const fn code(code: u16, meaning: &'static str, fix: &'static str) -> SubprotocolCode {
    SubprotocolCode {
        code: CloseCode(code),
        meaning,
        fix,
    }
}

/// Every subprotocol with published codes.
pub static SUBPROTOCOLS: &[Subprotocol] = &[
    Subprotocol {
        tokens: &["graphql-transport-ws"],
        name: "GraphQL over WebSocket (graphql-ws)",
        codes: &[
            code(4400, "bad request: the peer sent an invalid or unknown message (the reason is the error)", "Fix the message the reason names; client and server must speak the same graphql-ws protocol version."),
            code(4401, "unauthorized: a subscribe came before the server acknowledged connection_init", "Send connection_init and wait for connection_ack before subscribing."),
            code(4403, "forbidden: the server rejected the connection (its onConnect returned false, e.g. failed authentication)", "Check the credentials the client sends in connection_init's payload."),
            code(4406, "subprotocol not acceptable: the client did not offer graphql-transport-ws", "Offer the graphql-transport-ws subprotocol (a legacy subscriptions-transport-ws client offers graphql-ws)."),
            code(4408, "connection initialisation timeout: no connection_init within the server's connectionInitWaitTimeout (3 s by default)", "Send connection_init right after the socket opens, or raise connectionInitWaitTimeout."),
            code(4409, "subscriber already exists: a subscribe reused the id of an operation still running", "Give every operation a unique id, and complete one before reusing its id."),
            code(4429, "too many initialisation requests: connection_init was sent more than once", "Send connection_init once per connection."),
            code(4500, "internal server error (the reason is the error outside production)", "Look in the server's logs at this time for the exception."),
            code(4004, "bad response: the client got an invalid message from the server", "Check that the server speaks graphql-transport-ws and not the legacy protocol."),
            code(4005, "internal client error: an exception in the client (for example in connectionParams)", "Look in the client's console or logs at this time for the exception."),
            code(4504, "connection acknowledgement timeout: no connection_ack within the client's connectionAckWaitTimeout", "Find why the server was slow to acknowledge (its onConnect), or raise connectionAckWaitTimeout."),
        ],
        source: "https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md (and src/common.ts, enum CloseCode)",
    },
    Subprotocol {
        tokens: &["graphql-ws"],
        name: "subscriptions-transport-ws (Apollo's legacy GraphQL protocol)",
        codes: &[
            code(1002, "the client did not offer the graphql-ws subprotocol", "Offer the graphql-ws subprotocol, or move client and server to graphql-transport-ws together."),
            code(1011, "the server sent connection_error first: its onConnect rejected the connection or threw", "Read the connection_error message before the Close; check the credentials in connection_init."),
        ],
        source: "https://github.com/apollographql/subscriptions-transport-ws/blob/master/src/server.ts",
    },
    Subprotocol {
        tokens: &["centrifuge-protobuf"],
        name: "Centrifugo / Centrifuge",
        codes: &[
            code(3000, "connection closed (normal); the client reconnects", ""),
            code(3001, "server shutdown; the client reconnects", "Expected during deploys; spread reconnects with backoff."),
            code(3004, "internal server error; the client reconnects", "Look in the server's logs at this time."),
            code(3005, "connection expired (the token's lifetime ended); the client reconnects", "Refresh the connection token before it expires."),
            code(3006, "subscription expired; the client reconnects", "Refresh the subscription token before it expires."),
            code(3008, "slow client: it could not keep up with its messages", "Read faster, or send less to this client."),
            code(3009, "write error on the server", "Look at the network between server and client at this time."),
            code(3010, "insufficient state: the server lost the publication history the client needs", "Check the history settings of the channel."),
            code(3011, "force reconnect from the server", ""),
            code(3012, "no pong from the client", "Find why the client did not answer the server's pings (blocked event loop, network)."),
            code(3013, "too many requests", "Lower the client's request rate."),
            code(3500, "invalid token; the client does not reconnect", "Send a valid connection token."),
            code(3501, "bad request; the client does not reconnect", "Fix the request the client sends."),
            code(3502, "stale: no connect command in time; the client does not reconnect", "Send the connect command right after the socket opens."),
            code(3503, "force disconnect by the server; the client does not reconnect", ""),
            code(3504, "connection limit reached; the client does not reconnect", "Raise the connection limit or close unused connections."),
            code(3505, "channel limit reached; the client does not reconnect", "Subscribe to fewer channels."),
            code(3506, "inappropriate protocol; the client does not reconnect", "Use a client that speaks this server's protocol version."),
            code(3507, "permission denied; the client does not reconnect", "Check the client's permissions."),
            code(3508, "not available; the client does not reconnect", ""),
            code(3509, "too many errors; the client does not reconnect", "Look at the errors before this close."),
        ],
        source: "https://centrifugal.dev/docs/server/codes",
    },
    Subprotocol {
        tokens: &["phoenix"],
        name: "Phoenix channels",
        codes: &[
            code(1000, "the client's heartbeat timed out (reason \"heartbeat timeout\"), or it disconnected", "With reason heartbeat timeout: the server did not answer a heartbeat within 30 s; look for a blocked server or a proxy dropping traffic."),
            code(1001, "the server was told to disconnect this socket (a \"disconnect\" broadcast)", ""),
            code(1012, "the server drained its sockets at shutdown", "Expected during deploys; spread reconnects with backoff."),
        ],
        source: "https://github.com/phoenixframework/phoenix/blob/main/lib/phoenix/socket.ex",
    },
    Subprotocol {
        tokens: &["tty"],
        name: "ttyd (web terminal)",
        codes: &[
            code(1000, "the terminal's process exited with status 0", ""),
            code(1006, "the terminal's process exited with a non-zero status (ttyd sends 1006 in its Close frame, which RFC 6455 forbids)", "Look at why the command behind the terminal failed."),
            code(1008, "the authentication token was wrong", "Send ttyd's credential in the first message."),
            code(1011, "the first message could not be handled, or the process could not be started", "Look in ttyd's log at this time."),
        ],
        source: "https://github.com/tsl0922/ttyd/blob/main/src/protocol.c",
    },
];

/// The subprotocol a 101 named, if its codes are known.
pub fn named(token: &str) -> Option<&'static Subprotocol> {
    SUBPROTOCOLS.iter().find(|p| p.tokens.contains(&token))
}

impl Subprotocol {
    /// What `code` means in this subprotocol, if it says.
    pub fn code(&self, code: CloseCode) -> Option<&'static SubprotocolCode> {
        self.codes.iter().find(|c| c.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_ws_codes_are_found_by_the_101s_token() {
        let p = named("graphql-transport-ws").unwrap();
        assert!(p
            .code(CloseCode(4408))
            .unwrap()
            .meaning
            .contains("initialisation timeout"));
        assert!(
            p.code(CloseCode(4499)).is_none(),
            "4499 is local to the client, never on the wire"
        );
        // The legacy token is another protocol.
        assert!(named("graphql-ws").unwrap().code(CloseCode(4408)).is_none());
        assert!(named("GRAPHQL-TRANSPORT-WS").is_none());
    }

    #[test]
    fn every_token_names_one_protocol_and_codes_are_unique() {
        let mut tokens: Vec<&str> = SUBPROTOCOLS
            .iter()
            .flat_map(|p| p.tokens.iter().copied())
            .collect();
        let n = tokens.len();
        tokens.sort_unstable();
        tokens.dedup();
        assert_eq!(tokens.len(), n);
        for p in SUBPROTOCOLS {
            let mut codes: Vec<CloseCode> = p.codes.iter().map(|c| c.code).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), p.codes.len(), "{}", p.name);
            assert!(p.source.starts_with("https://"), "{}", p.name);
        }
    }
}
