"""Light client: check headers, transaction and state proofs with nothing but trusted validators.

A client starts from the genesis header hash (the ledger id) and the genesis
validator set. Each header it accepts must carry a commit certificate signed
by a quorum of the validators it trusts for that height; when a header says the
set changes (next_validators_hash), the client accepts the new set only if it
hashes to that value.
"""
from __future__ import annotations

from chain.crypto import CryptoSuite
from chain.ledger.block import BlockHeader, CommitCertificate, ValidatorSet
from chain.ledger.merkle import ListProof, verify_list_proof
from chain.ledger.smt import ProofError, SparseMerkleProof, verify_proof


class LightClient:
    """Follows one ledger's headers from a trusted validator set."""

    def __init__(self, suite: CryptoSuite, ledger_id: bytes, validators: ValidatorSet) -> None:
        self.suite = suite
        self.ledger_id = ledger_id
        self.validators = validators
        self.trusted: dict[int, BlockHeader] = {}

    def accept_genesis(self, header: BlockHeader, certificate: CommitCertificate) -> None:
        """Trust block 0 if it hashes to the ledger id and is signed by the genesis validators."""
        if header.height != 0 or header.hash(self.suite) != self.ledger_id:
            raise ProofError("this is not the genesis header of the ledger", "wrong_ledger")
        self._check(header, certificate, self.validators)
        self.trusted[0] = header

    def accept(self, header: BlockHeader, certificate: CommitCertificate, validators: ValidatorSet | None = None) -> None:
        """Trust a header certified by the validators of its height (pass the new set when it changed)."""
        if header.ledger_id != self.ledger_id:
            raise ProofError("the header is for another ledger", "wrong_ledger")
        if header.validators_hash != self.validators.hash(self.suite):
            if validators is None or validators.hash(self.suite) != header.validators_hash:
                raise ProofError("the header is signed by a validator set this client cannot confirm", "unknown_validators")
            previous = self.trusted.get(header.height - 1)
            if previous is None or previous.next_validators_hash != header.validators_hash:
                raise ProofError("a validator change must be announced by the trusted previous header", "unknown_validators")
            self.validators = validators
        self._check(header, certificate, self.validators)
        self.trusted[header.height] = header

    def _check(self, header: BlockHeader, certificate: CommitCertificate, validators: ValidatorSet) -> None:
        problem = certificate.problems(validators, header.hash(self.suite), header.height)
        if problem:
            raise ProofError(f"block {header.height}: {problem}", "bad_certificate")

    def header(self, height: int) -> BlockHeader:
        """A header this client has accepted."""
        try:
            return self.trusted[height]
        except KeyError:
            raise ProofError(f"no trusted header at height {height}", "untrusted_height") from None

    def verify_transaction(self, height: int, tx_hash: bytes, proof: ListProof) -> None:
        """Raise ProofError unless tx_hash is in the block at height."""
        if not verify_list_proof(self.suite.digest, self.header(height).tx_root, tx_hash, proof):
            raise ProofError("the transaction proof does not lead to the block's tx_root", "root_mismatch")

    def verify_receipt(self, height: int, encoded_receipt: bytes, proof: ListProof) -> None:
        """Raise ProofError unless the encoded receipt is in the block at height."""
        if not verify_list_proof(self.suite.digest, self.header(height).receipts_root, encoded_receipt, proof):
            raise ProofError("the receipt proof does not lead to the block's receipts_root", "root_mismatch")

    def verify_state(self, height: int, state_key: bytes, value: bytes | None, proof: SparseMerkleProof) -> None:
        """Raise ProofError unless state_key held value (None: was absent) after the block at height."""
        digest = self.suite.digest
        verify_proof(digest, self.header(height).state_root, digest(state_key), None if value is None else digest(value), proof)
