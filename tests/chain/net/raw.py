"""A hand-driven TLS client for the tests: any certificate (even ones TlsIdentity refuses), raw bytes on the wire."""
from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from chain.ca import Certificate
from chain.crypto import PrivateKey
from chain.net import TrustAnchors
from chain.net.framing import FrameReader
from chain.net.wire import ACCEPT, MAX_CONTROL_FRAME, REJECT


def client_ctx(cert: Certificate, key: PrivateKey, chain: tuple[Certificate, ...], trust: TrustAnchors) -> ssl.SSLContext:
    """A TLS 1.3 client context built with plain ssl calls (independent of chain.net.tls)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(cadata=trust.pem_bundle())
    pem_key = ec.derive_private_key(int.from_bytes(key.value, "big"), ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with tempfile.TemporaryDirectory() as tmp:
        chain_path, key_path = Path(tmp, "chain.pem"), Path(tmp, "key.pem")
        chain_path.write_text("".join(c.pem for c in (cert, *chain)))
        key_path.write_bytes(pem_key)
        os.chmod(key_path, 0o600)
        ctx.load_cert_chain(chain_path, key_path)
    return ctx


async def connect(port: int, ctx: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection to 127.0.0.1:port (TLS when ctx is given)."""
    return await asyncio.open_connection("127.0.0.1", port, ssl=ctx)


async def answer(reader: asyncio.StreamReader, timeout: float = 5.0) -> str:
    """What the acceptor said first: 'accept', 'reject:<code>', 'eof', or 'tls-error:<text>'."""
    try:
        body = await FrameReader(reader, MAX_CONTROL_FRAME).read(timeout)
    except ssl.SSLError as exc:
        return f"tls-error:{exc}"
    except (ConnectionError, OSError) as exc:
        return f"tls-error:{exc}"
    if body is None:
        return "eof"
    if body[0] == ACCEPT:
        return "accept"
    if body[0] == REJECT:
        return "reject:" + body[1:].decode()
    return f"unexpected:{body!r}"


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    """True once the peer closes (EOF or reset) within timeout; data read meanwhile is discarded."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
        return True
    except (ConnectionError, OSError):
        return True
    except TimeoutError:
        return False


def abort(writer: asyncio.StreamWriter) -> None:
    """Drop the connection without a goodbye."""
    writer.transport.abort()
