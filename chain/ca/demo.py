"""The consortium-CA part of `make run`: a store per suite, issue, verify, revoke, verify again."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from chain.ca.errors import CertificateVerificationError
from chain.ca.store import CAStore

DEMO_SCRYPT_N = 2**12


def run_demo(directory: Path, password: bytes, say: Callable[[str], None]) -> None:
    """Build a fresh CA store per suite under directory and narrate what happens."""
    for suite in ("classic", "sm"):
        target = directory / suite
        if target.exists():
            shutil.rmtree(target)
        store = CAStore.init(target, suite=suite, consortium="Demo Consortium", password=password, scrypt_n=DEMO_SCRYPT_N)
        say(f"== consortium CA ({suite}) in {target}")
        say(f"   root         {store.root.subject}")
        for org in ("brand-co", "logistics-co"):
            store.add_organisation(org, root_password=password)
            say(f"   member CA    {store.intermediate(org).subject}")
        node = store.issue("brand-co", "node", "peer0", ca_password=password, key_password=password,
                           dns_names=("localhost",), ip_addresses=("127.0.0.1",))
        user = store.issue("logistics-co", "user", "driver-7", ca_password=password, key_password=password)
        now = datetime.now(timezone.utc)
        for record in (node, user):
            chain = store.verify(store.certificate(record.serial), now)
            say(f"   issued       {record.role:5} {record.common_name:9} serial {record.serial_hex[:12]}…  verify: OK "
                f"(org {chain.organisation}, role {chain.role})")
        store.revoke(user.serial, ca_password=password, reason="keyCompromise")
        try:
            store.verify(store.certificate(user.serial), datetime.now(timezone.utc))
            say("   revoked      driver-7 still verifies (unexpected)")
        except CertificateVerificationError as exc:
            say(f"   revoked      driver-7 -> verify refuses: {exc.reason}")
