"""Who may connect: only known validators with node certificates from the consortium, valid and unrevoked."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from chain.ca import RevokedCertificate, issue_crl
from chain.net import Network, PeerSpec, TlsSetupError

from .conftest import FAST, run, start_mesh, stop_all
from .pki import START, Pki, make_pki
from .raw import abort, answer, client_ctx, connect


async def _listener(pki: Pki, **kwargs: object) -> Network:
    """node0 alone, expecting node1 (who does not listen: node0 only accepts)."""
    net = Network("node0", pki.identity("node0"), pki.trust, [pki.spec("node1")], FAST, **kwargs)  # type: ignore[arg-type]
    await net.start()
    return net


async def _knock(net: Network, ctx: object) -> str:
    reader, writer = await connect(net.address[1], ctx)  # type: ignore[arg-type]
    try:
        return await answer(reader)
    finally:
        abort(writer)


def _logged(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    return any(all(w in r.getMessage() for w in words) for r in caplog.records)


def test_a_known_validator_is_accepted(pki: Pki) -> None:
    ident = pki.identity("node1")

    async def scenario() -> str:
        net = await _listener(pki)
        try:
            result = await _knock(net, client_ctx(ident.certificate, ident.key, ident.chain, pki.trust))
            await net.wait_connected(timeout=5)
            return result
        finally:
            await net.stop()

    assert run(scenario()) == "accept"


def test_certificate_from_another_consortium_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    other = make_pki("Other")
    ident = other.identity("node1")  # same name, same role, wrong root

    async def scenario() -> str:
        net = await _listener(pki)
        try:
            return await _knock(net, client_ctx(ident.certificate, ident.key, ident.chain, pki.trust))
        finally:
            assert net.connected_peers() == frozenset()
            await net.stop()

    assert run(scenario()).startswith(("tls-error", "eof"))
    assert _logged(caplog, "TLS handshake with 127.0.0.1", "certificate verify failed")


def test_dialling_a_server_with_a_foreign_certificate_fails_and_is_logged(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    other = make_pki("Other")

    async def scenario() -> None:
        rogue = Network("node1", other.identity("node1"), other.trust, [other.spec("node0")], FAST)
        await rogue.start()
        spec = PeerSpec("node1", pki.identity("node1").certificate, "127.0.0.1", rogue.address[1])
        net = Network("node0", pki.identity("node0"), pki.trust, [spec], FAST)
        await net.start()
        try:
            await asyncio.sleep(0.5)
            assert net.connected_peers() == frozenset() and rogue.connected_peers() == frozenset()
        finally:
            await asyncio.gather(net.stop(), rogue.stop())

    run(scenario())
    assert _logged(caplog, "connection to node1 at 127.0.0.1", "refused", "certificate verify failed")


def test_a_user_certificate_is_refused_with_wrong_role(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    cert, key = pki.leaf("alice", role="user")

    async def scenario() -> str:
        net = await _listener(pki)
        try:
            return await _knock(net, client_ctx(cert, key, (pki.orgs["org1"].certificate,), pki.trust))
        finally:
            await net.stop()

    assert run(scenario()) == "reject:wrong_role"
    assert _logged(caplog, "refused a connection from 127.0.0.1", "wrong_role")


def test_an_expired_certificate_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    cert, key = pki.leaf("node9", not_after=datetime.now(timezone.utc) - timedelta(days=1))

    async def scenario() -> str:
        net = Network("node0", pki.identity("node0"), pki.trust, [PeerSpec("node9", cert)], FAST)
        await net.start()
        try:
            return await _knock(net, client_ctx(cert, key, (pki.orgs["org1"].certificate,), pki.trust))
        finally:
            await net.stop()

    assert run(scenario()).startswith(("tls-error", "eof"))
    assert _logged(caplog, "TLS handshake with 127.0.0.1", "expired")


def test_expiry_is_also_judged_on_the_injected_clock(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    """OpenSSL accepts (wall clock), chain.ca refuses at our clock: the second check is real."""
    soon = datetime.now(timezone.utc) + timedelta(days=1)
    cert, key = pki.leaf("node8", not_after=soon)
    later = soon + timedelta(days=1)

    async def scenario() -> str:
        net = Network("node0", pki.identity("node0"), pki.trust, [PeerSpec("node8", cert)], FAST, clock=lambda: later)
        await net.start()
        try:
            return await _knock(net, client_ctx(cert, key, (pki.orgs["org1"].certificate,), pki.trust))
        finally:
            await net.stop()

    assert run(scenario()) == "reject:expired"
    assert _logged(caplog, "refused a connection", "expired")


def test_a_valid_node_certificate_not_in_the_peer_list_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    stranger = pki.identity("node7", org="org2")

    async def scenario() -> str:
        net = await _listener(pki)
        try:
            return await _knock(net, client_ctx(stranger.certificate, stranger.key, stranger.chain, pki.trust))
        finally:
            assert net.connected_peers() == frozenset()
            await net.stop()

    assert run(scenario()) == "reject:unknown_certificate"
    assert _logged(caplog, "refused a connection", "CN=node7", "not the certificate of any expected peer")


def test_an_address_serving_another_validators_certificate_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node1", "node2"])
        # node0 believes node1 lives at node2's port
        net = Network("node0", pki.identity("node0"), pki.trust,
                      [pki.spec("node1", nets["node2"].address[1])], FAST)
        await net.start()
        try:
            await asyncio.sleep(0.5)
            assert net.connected_peers() == frozenset()
        finally:
            await net.stop()
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "presented CN=node2", "not the certificate expected for node1")


def test_a_revoked_peer_is_disconnected_when_the_crl_arrives_and_then_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1"])
        try:
            await nets["node0"].wait_connected(timeout=5)
            revoked = RevokedCertificate(pki.identity("node1").certificate.serial, START + timedelta(days=1))
            crl = issue_crl(pki.orgs["org1"], [revoked], number=1, this_update=START + timedelta(days=1))
            nets["node0"].update_trust(pki.trust.with_crls([crl]))
            assert nets["node0"].connected_peers() == frozenset()
            await asyncio.sleep(0.5)  # node1 keeps redialling and is refused each time
            assert nets["node0"].connected_peers() == frozenset()
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "no longer valid", "revoked")
    assert _logged(caplog, "refused a connection", "revoked")


def test_our_own_certificate_must_verify_before_listening(pki: Pki) -> None:
    other = make_pki("Other")
    net = Network("node0", pki.identity("node0"), other.trust, [], FAST)
    with pytest.raises(TlsSetupError) as info:
        run(net.start())
    assert info.value.code == "unknown_root"
