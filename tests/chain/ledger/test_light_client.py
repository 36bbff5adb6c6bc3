"""A light client verifies headers, transaction and state proofs with only the genesis validator set."""
from __future__ import annotations

import pytest

from chain.codec import decode, encode
from chain.ledger import namespaces as ns
from chain.ledger.block import CommitCertificate
from chain.ledger.light_client import LightClient
from chain.ledger.merkle import ListProof
from chain.ledger.operations import RegisterDataAccount, RegisterNode, WriteKV
from chain.ledger.smt import ProofError, SparseMerkleProof


def _client(ledger):  # type: ignore[no-untyped-def]
    chain = ledger.chain
    genesis_validators = ledger.chain.validators() if chain.height == 0 else None
    client = LightClient(ledger.suite, chain.ledger_id, genesis_validators)
    client.accept_genesis(chain.header(0), chain.certificate(0))
    return client


def _follow(client, ledger) -> None:  # type: ignore[no-untyped-def]
    for height in range(max(client.trusted) + 1, ledger.chain.height + 1):
        client.accept(ledger.chain.header(height), ledger.chain.certificate(height))


def test_client_verifies_transaction_and_state_proofs(ledger) -> None:  # type: ignore[no-untyped-def]
    client = _client(ledger)
    ledger.run([RegisterDataAccount("acct", ())])
    tx = ledger.tx([WriteKV("acct", "sku-1", b"genuine", None)])
    ledger.block(tx, ledger.tx([WriteKV("acct", "sku-2", b"x", None)]))
    _follow(client, ledger)
    height, proof = ledger.chain.prove_transaction(tx.hash)
    proof = ListProof.from_value(decode(encode(proof.to_value())))  # as it would travel
    client.verify_transaction(height, tx.hash, proof)
    key = ns.data_entry_key("acct", "sku-1")
    sp = ledger.chain.prove_state(key)
    wire = SparseMerkleProof.from_cbor(decode(encode(sp.proof.to_cbor())))
    client.verify_state(sp.height, key, sp.value, wire)
    absent = ledger.chain.prove_state(ns.data_entry_key("acct", "sku-404"))
    client.verify_state(absent.height, absent.key, None, absent.proof)
    with pytest.raises(ProofError):
        client.verify_state(sp.height, key, sp.value[:-1] + bytes([sp.value[-1] ^ 1]), wire)  # one bit changed
    with pytest.raises(ProofError):
        client.verify_state(absent.height, absent.key, b"forged", absent.proof)
    with pytest.raises(ProofError):
        client.verify_transaction(height, ledger.suite.digest(b"other"), proof)


def test_state_proof_at_an_older_height(ledger) -> None:  # type: ignore[no-untyped-def]
    client = _client(ledger)
    ledger.run([RegisterDataAccount("acct", ())])
    ledger.run([WriteKV("acct", "k", b"v1", None)])
    ledger.run([WriteKV("acct", "k", b"v2", None)])
    _follow(client, ledger)
    key = ns.data_entry_key("acct", "k")
    old = ledger.chain.prove_state(key, 2)
    client.verify_state(2, key, old.value, old.proof)
    with pytest.raises(ProofError):
        client.verify_state(3, key, old.value, old.proof)


def test_client_refuses_forged_headers_and_certificates(ledger) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    client = _client(ledger)
    ledger.block()
    header, cert = ledger.chain.header(1), ledger.chain.certificate(1)
    forged = replace(header, state_root=bytes(32))
    with pytest.raises(ProofError):
        client.accept(forged, cert)
    stranger = ledger.suite.generate_keypair().private
    with pytest.raises(ProofError):
        client.accept(header, CommitCertificate.sign(1, header.hash(ledger.suite), [stranger]))
    with pytest.raises(ProofError):
        client.accept(header, CommitCertificate(1, header.hash(ledger.suite), ()))
    client.accept(header, cert)
    with pytest.raises(ProofError):
        client.accept_genesis(header, cert)


def test_client_follows_a_certified_validator_change(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    h = classic_ledger
    client = _client(h)
    node = h.net.issue("org2", "node-new", "node")
    receipt, _ = h.run([RegisterNode(node.certificate.der, node.key.public_key().encode())], *h.net.admins)
    assert receipt.success  # block 1: both participants approve, so the join takes effect at 1 + 2
    assert h.chain.membership_changes()[0].activation_height == 3
    h.block()  # block 2: the join is applied at its end
    new_set = h.chain.validators()
    assert len(new_set.validators) == 2 and h.chain.header(2).next_validators_hash == new_set.hash(h.suite)
    h.block()  # block 3: the first the new set certifies
    client.accept(h.chain.header(1), h.chain.certificate(1))
    client.accept(h.chain.header(2), h.chain.certificate(2))
    with pytest.raises(ProofError):
        client.accept(h.chain.header(3), h.chain.certificate(3))  # new set not supplied
    client.accept(h.chain.header(3), h.chain.certificate(3), new_set)
    assert client.validators == new_set
