"""Consortium PKI for both suites: root -> one intermediate per organisation -> role leaves; CRLs; verification.

Quick tour:
    root = create_root("Demo", root_key)                       # Certificate
    org1 = issue_intermediate(CertificateAuthority(root, root_key), "org1", org1_key.public_key())
    node = issue_leaf(CertificateAuthority(org1, org1_key), "peer0", "node", node_public)
    verify_chain(node, [org1], [root], [crl], at=block_time, expected_role="node")
See docs/ca.md for the naming convention, OIDs and the on-disk store.
"""
from __future__ import annotations

from chain.ca.certificate import Certificate, parse_certificates
from chain.ca.crl import RevocationList, issue_crl
from chain.ca.errors import REASONS, CAError, CertificateFormatError, CertificateVerificationError
from chain.ca.issue import CertificateAuthority, create_root, issue_intermediate, issue_leaf, sign_certificate
from chain.ca.names import LEAF_ROLES, DistinguishedName, Role
from chain.ca.profile import CertificateProfile, RevocationReason, RevokedCertificate
from chain.ca.store import CAStore, IssuedRecord
from chain.ca.verify import VerifiedChain, verify_chain

__all__ = [
    "LEAF_ROLES",
    "REASONS",
    "CAError",
    "CAStore",
    "Certificate",
    "CertificateAuthority",
    "CertificateFormatError",
    "CertificateProfile",
    "CertificateVerificationError",
    "DistinguishedName",
    "IssuedRecord",
    "RevocationList",
    "RevocationReason",
    "RevokedCertificate",
    "Role",
    "VerifiedChain",
    "create_root",
    "issue_crl",
    "issue_intermediate",
    "issue_leaf",
    "parse_certificates",
    "sign_certificate",
    "verify_chain",
]
