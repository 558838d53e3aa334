"""The mutual-TLS listener: APIM's TLS termination in front of the plain HTTP app.

Each connection's handshake requires a client certificate signed by the configured client CA; a
missing or foreign certificate is refused *at the handshake* with the TLS alert a real gateway
sends (``unknown ca``, ``certificate required``), which is what a client can tell apart from a
network failure. asyncio's TLS server closes without sending that alert, so the handshake is done
here with blocking ``ssl`` sockets, one thread per connection; the accepted connection is then
relayed byte for byte to the plain listener. The relay's upstream address is registered in
``peers`` (with the client certificate's SHA-1 thumbprint) so the gateway knows the request
came through a verified handshake and skips the thumbprint-header stand-in.
"""

from __future__ import annotations

import contextlib
import hashlib
import selectors
import socket
import ssl
import threading
from collections.abc import Iterator, MutableMapping

from dtp_sim.config import TlsFiles

Peer = tuple[str, int]
_HANDSHAKE_TIMEOUT_S = 10.0
_IDLE_TIMEOUT_S = 120.0
_CHUNK = 65536
_LINGER_S = 2.0


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """TLS 1.2+ with the server certificate; a client certificate from ``client_ca`` required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.certfile, files.keyfile)
    context.load_verify_locations(files.client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class TlsFront:
    """Accepts TLS on ``host:port`` (0 = free port) and relays each connection to ``upstream``."""

    def __init__(
        self,
        files: TlsFiles,
        upstream: Peer,
        peers: MutableMapping[Peer, str],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._context = server_context(files)
        self._upstream = upstream
        self._peers = peers
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(128)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="dtp-tls", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(_HANDSHAKE_TIMEOUT_S)
        # Not on connect: a failed wrap_socket closes the socket at once, with the client's
        # request unread, and the reset that follows can discard the alert.
        tls = self._context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except OSError:  # ssl.SSLError included: refused at the handshake, the alert is sent
            _lingering_close(tls)
            return
        try:
            with tls, self._relay_to_upstream(tls) as upstream:
                _pump(tls, upstream)
        except OSError:
            return  # the plain listener is gone (stopping): the client sees the close

    @contextlib.contextmanager
    def _relay_to_upstream(self, tls: ssl.SSLSocket) -> Iterator[socket.socket]:
        der = tls.getpeercert(binary_form=True) or b""
        thumbprint = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
        upstream = socket.create_connection(self._upstream, timeout=_HANDSHAKE_TIMEOUT_S)
        peer: Peer = upstream.getsockname()[:2]
        self._peers[peer] = thumbprint
        try:
            with upstream:
                yield upstream
        finally:
            self._peers.pop(peer, None)


def _lingering_close(raw: socket.socket) -> None:
    """Close after the client has read the alert: closing with its request still unread would
    reset the connection, and a reset can discard the alert before the client reads it."""
    with raw:
        try:
            raw.shutdown(socket.SHUT_WR)
            raw.settimeout(_LINGER_S)
            while raw.recv(_CHUNK):
                pass
        except OSError:
            return


def _pump(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways on this thread (an SSL object must not be shared between threads)
    until either side closes or stays idle; HTTP/1.1 is half-duplex, so blocking reads are fine."""
    tls.settimeout(_IDLE_TIMEOUT_S)
    upstream.settimeout(_IDLE_TIMEOUT_S)
    with selectors.DefaultSelector() as selector:
        selector.register(tls, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, tls)
        while True:
            ready = selector.select(_IDLE_TIMEOUT_S)
            if not ready:
                return
            for key, _ in ready:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                if not _forward(source, key.data):
                    return


def _forward(source: socket.socket, target: socket.socket) -> bool:
    """Move what ``source`` has to ``target``; False when a side closed."""
    try:
        data = source.recv(_CHUNK)
        if not data:
            return False
        target.sendall(data)
        # Decrypted bytes already buffered in the SSL object are invisible to select().
        while isinstance(source, ssl.SSLSocket) and source.pending():
            target.sendall(source.recv(_CHUNK))
    except OSError:
        return False
    return True
