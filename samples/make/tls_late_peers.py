"""Peers of tls-late-close.sh: a TLS 1.2 server and a client that completes
the handshake, stays silent for a while, then closes TCP without a
close_notify (as a client does that rejects the certificate after the
handshake, or that opened a connection it never used).

usage: tls_late_peers.py server PORT CHAIN KEY KEYLOG
       tls_late_peers.py client PORT DELAY_S
"""
import socket
import ssl
import sys
import time


def server(port, chain, key, keylog):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(chain, key)
    ctx.keylog_filename = keylog
    with socket.create_server(("127.0.0.1", port)) as ls:
        conn, _ = ls.accept()
        with ctx.wrap_socket(conn, server_side=True) as s:
            # The client sends nothing; its FIN ends the read.
            data = s.recv(4096)
            print(f"server: read {len(data)} bytes, answering with close_notify", flush=True)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError) as e:
                print(f"server: unwrap: {e}", flush=True)


def client(port, delay):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    print(f"client: {s.version()} {s.cipher()[0]}; silent for {delay} s", flush=True)
    time.sleep(delay)
    # Close the socket under TLS: a FIN, no close_notify.
    raw = socket.socket(fileno=s.detach())
    raw.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    raw.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        client(int(sys.argv[2]), float(sys.argv[3]))
