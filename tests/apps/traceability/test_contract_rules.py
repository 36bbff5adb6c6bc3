"""Traceability contract rules, each with an allowed and a refused case, run in the contract sandbox."""
from __future__ import annotations

from typing import Any

import pytest

from apps.traceability.codes import IssuedBatch, issue_batch, pin_hash
from apps.traceability.contract import CONTRACT_NAME, contract_source
from chain.contracts import decode_value
from chain.contracts.sandbox import Sandbox

PREFIX = "0614141"
GTIN = "00614141107346"
OTHER_PREFIX = "0690123"
OTHER_GTIN = "00690123456787"
C = CONTRACT_NAME
BRAND, RIVAL, CARRIER, SHOP = "brand-a", "brand-b", "swift-logistics", "fresh-mart"


class Chain:
    """A sandboxed traceability contract with two brands' products and one issued batch."""

    def __init__(self) -> None:
        self.sb = Sandbox()
        self.sb.deploy(C, contract_source())
        self.n = 0
        self.ok("operator", "assign_prefix", PREFIX, BRAND, roles=("ADMIN",))
        self.ok("operator", "assign_prefix", OTHER_PREFIX, RIVAL, roles=("ADMIN",))
        self.ok(BRAND, "register_product", GTIN, PREFIX, "Green tea 250 g")
        self.ok(RIVAL, "register_product", OTHER_GTIN, OTHER_PREFIX, "Oolong 100 g")
        self.batch = issue_batch(GTIN, "L1", 7)
        self.ok(BRAND, "issue_batch", GTIN, "L1", 7, self.batch.tree.root, "271231")
        self.rival_batch = issue_batch(OTHER_GTIN, "R1", 3)
        self.ok(RIVAL, "issue_batch", OTHER_GTIN, "R1", 3, self.rival_batch.tree.root, "")

    def call(self, org: str, function: str, *args: Any, roles: tuple[str, ...] = ()) -> Any:
        return self.sb.invoke(C, function, *args, origin=f"user:{org}", organisation=org, roles=roles)

    def ok(self, org: str, function: str, *args: Any, roles: tuple[str, ...] = ()) -> Any:
        outcome = self.call(org, function, *args, roles=roles)
        assert outcome.error is None, f"{function} refused: {outcome.error}"
        return outcome.value

    def refused(self, org: str, function: str, *args: Any, words: str, roles: tuple[str, ...] = ()) -> None:
        outcome = self.call(org, function, *args, roles=roles)
        assert outcome.error is not None, f"{function} was allowed"
        assert words.lower() in outcome.error.message.lower(), outcome.error.message

    def event_hash(self) -> str:
        self.n += 1
        return f"ni:///sha-256;{self.n:064x}?ver=CBV2.0"

    def epc(self, i: int, batch: IssuedBatch | None = None) -> str:
        b = batch or self.batch
        return f"sgtin:{b.gtin}.{b.serials[i]}"

    def proofs(self, *indexes: int, batch: IssuedBatch | None = None) -> dict[str, Any]:
        b = batch or self.batch
        return {self.epc(i, b): [b.lot, b.pin_hashes[i], [[s, left] for s, left in b.tree.proof(i)]] for i in indexes}

    def obj(self, org: str, step: str, indexes: tuple[int, ...], to: str = "", action: str = "OBSERVE",
            refused: str | None = None, batch: IssuedBatch | None = None) -> None:
        facts = {"kind": "ObjectEvent", "action": action, "step": step, "epcs": [self.epc(i, batch) for i in indexes], "to": to}
        args = (self.event_hash(), facts, self.proofs(*indexes, batch=batch), "{}")
        if refused is None:
            self.ok(org, "record", *args)
        else:
            self.refused(org, "record", *args, words=refused)

    def item(self, i: int) -> dict[str, Any]:
        return self.ok(BRAND, "get_item", self.epc(i))  # type: ignore[no-any-return]


@pytest.fixture()
def chain() -> Chain:
    return Chain()


def test_only_administrators_assign_company_prefixes(chain: Chain) -> None:
    chain.ok("operator", "assign_prefix", "0950600", "brand-c", roles=("ADMIN",))
    chain.refused(BRAND, "assign_prefix", "0950601", BRAND, words="only a consortium administrator")
    chain.refused("operator", "assign_prefix", PREFIX, RIVAL, roles=("ADMIN",), words="held by brand-a")


def test_only_the_prefix_holder_registers_its_gtins(chain: Chain) -> None:
    chain.ok(BRAND, "register_product", "10614141107343", PREFIX, "Green tea, case of 12")
    chain.refused(RIVAL, "register_product", "10614141107343", PREFIX, "Fake", words="does not hold")
    chain.refused(BRAND, "register_product", OTHER_GTIN, PREFIX, "x", words="not under company prefix")
    chain.refused(BRAND, "register_product", "00614141107347", PREFIX, "x", words="check digit")
    chain.refused(BRAND, "register_product", GTIN, PREFIX, "again", words="already registered")


def test_only_the_brand_issues_batches_and_each_lot_once(chain: Chain) -> None:
    other = issue_batch(GTIN, "L2", 2)
    chain.refused(RIVAL, "issue_batch", GTIN, "L2", 2, other.tree.root, "", words="only brand-a issues")
    chain.ok(BRAND, "issue_batch", GTIN, "L2", 2, other.tree.root, "")
    chain.refused(BRAND, "issue_batch", GTIN, "L2", 2, other.tree.root, "", words="already exists")
    chain.refused(BRAND, "issue_batch", GTIN, "L3", 2, b"short", "", words="32 bytes")
    assert chain.ok(CARRIER, "get_batch", GTIN, "L2")["root"] == other.tree.root


def test_only_the_brand_commissions_its_items_and_only_once(chain: Chain) -> None:
    chain.obj(RIVAL, "commissioning", (0,), action="ADD", refused="only brand-a commissions")
    chain.obj(BRAND, "commissioning", (0, 1), action="ADD")
    chain.obj(BRAND, "commissioning", (1,), action="ADD", refused="already commissioned")
    assert chain.item(0)["commissioned"] is True and chain.item(0)["holder"] == BRAND


def test_an_item_exists_only_with_a_genuine_code_of_an_issued_batch(chain: Chain) -> None:
    chain.obj(BRAND, "inspecting", (2,))
    forged = chain.epc(3)[:-1] + ("A" if chain.epc(3)[-1] != "A" else "B")
    proof = chain.proofs(3)[chain.epc(3)]
    facts = {"kind": "ObjectEvent", "action": "OBSERVE", "step": "shipping", "epcs": [forged], "to": CARRIER}
    chain.refused(BRAND, "record", chain.event_hash(), facts, {forged: proof}, "{}", words="not a genuine code")
    facts["epcs"] = [chain.epc(4)]
    chain.refused(BRAND, "record", chain.event_hash(), facts, {}, "{}", words="needs its code proof")
    never = issue_batch(GTIN, "NEVER", 2)
    chain.obj(BRAND, "shipping", (0,), to=CARRIER, batch=never, refused="was never issued")
    wrong_pin = chain.proofs(5)
    wrong_pin[chain.epc(5)][1] = pin_hash(GTIN, chain.batch.serials[5], "0000000000", chain.batch.salts[5])
    facts["epcs"] = [chain.epc(5)]
    chain.refused(BRAND, "record", chain.event_hash(), facts, wrong_pin, "{}", words="not a genuine code")


def test_an_item_is_sold_once(chain: Chain) -> None:
    chain.obj(BRAND, "retail_selling", (0,))
    assert chain.item(0)["state"] == "sold"
    chain.obj(BRAND, "retail_selling", (0,), refused="already sold")
    chain.obj(BRAND, "shipping", (0,), to=CARRIER, refused="it is sold")


def test_nothing_happens_to_a_decommissioned_item(chain: Chain) -> None:
    chain.obj(CARRIER, "decommissioning", (1,), action="DELETE", refused="only the holder or the brand")
    chain.obj(BRAND, "decommissioning", (1,), action="DELETE")
    chain.obj(BRAND, "shipping", (1,), to=CARRIER, refused="decommissioned")
    chain.obj(BRAND, "inspecting", (1,), refused="decommissioned")


def test_only_the_holder_ships_and_a_handover_needs_both_parties(chain: Chain) -> None:
    chain.obj(CARRIER, "shipping", (0,), to=SHOP, refused="brand-a holds it")
    chain.obj(BRAND, "shipping", (0,), to=CARRIER)
    assert chain.ok(BRAND, "get_transfer", chain.epc(0))["to"] == CARRIER
    assert chain.item(0)["holder"] == BRAND and chain.item(0)["state"] == "in_transit"
    chain.obj(BRAND, "shipping", (0,), to=SHOP, refused="in_transit")
    chain.obj(SHOP, "receiving", (0,), refused="shipped to swift-logistics, not fresh-mart")
    chain.obj(CARRIER, "receiving", (0,))
    assert chain.item(0)["holder"] == CARRIER and chain.item(0)["state"] == "active"
    assert chain.ok(BRAND, "get_transfer", chain.epc(0)) == {}
    handovers = [decode_value(payload) for _, name, payload in chain.sb.events if name == "Handover"]
    assert handovers and handovers[-1]["sender"] == BRAND and handovers[-1]["receiver"] == CARRIER
    chain.obj(SHOP, "receiving", (1,), refused="no shipment")


def test_aggregation_children_exist_and_are_not_packed_elsewhere(chain: Chain) -> None:
    pallet, other = "sscc:106141412345678908", "sscc:106141412345678915"

    def pack(org: str, parent: str, indexes: tuple[int, ...], action: str = "ADD", refused: str | None = None,
             proofs: dict[str, Any] | None = None) -> None:
        facts = {"kind": "AggregationEvent", "action": action, "parent": parent, "children": [chain.epc(i) for i in indexes]}
        args = (chain.event_hash(), facts, chain.proofs(*indexes) if proofs is None else proofs, "{}")
        chain.ok(org, "record", *args) if refused is None else chain.refused(org, "record", *args, words=refused)

    pack(BRAND, pallet, (0, 1))
    assert chain.item(0)["parent"] == pallet
    assert chain.ok(BRAND, "get_item", pallet)["children"] == [chain.epc(0), chain.epc(1)]
    pack(BRAND, other, (1,), refused="already packed in")
    pack(BRAND, other, (2,), proofs={}, refused="needs its code proof")
    chain.obj(BRAND, "shipping", (0,), to=CARRIER, refused="packed in")
    pack(BRAND, pallet, (1,), action="DELETE")
    pack(BRAND, other, (1,))
    facts = {"kind": "ObjectEvent", "action": "OBSERVE", "step": "shipping", "epcs": [pallet], "to": CARRIER}
    chain.ok(BRAND, "record", chain.event_hash(), facts, {}, "{}")
    facts["step"] = "receiving"
    chain.ok(CARRIER, "record", chain.event_hash(), facts, {}, "{}")
    assert chain.item(0)["holder"] == CARRIER and chain.ok(BRAND, "get_item", pallet)["holder"] == CARRIER
    assert chain.item(1)["holder"] == BRAND


def test_transformation_consumes_inputs_and_only_the_brand_makes_outputs(chain: Chain) -> None:
    chain.ok(RIVAL, "issue_batch", OTHER_GTIN, "LEAF-1", 0, b"", "")
    inputs = ["lgtin:" + OTHER_GTIN + ".LEAF-1", chain.epc(0, chain.rival_batch)]
    facts = {"kind": "TransformationEvent", "action": "", "inputs": inputs, "outputs": [chain.epc(6)]}
    proofs = {**chain.proofs(0, batch=chain.rival_batch), **chain.proofs(6)}
    chain.refused(RIVAL, "record", chain.event_hash(), facts, proofs, "{}", words="only brand-a commissions")
    facts["inputs"] = ["lgtin:" + OTHER_GTIN + ".NOPE"]
    chain.refused(BRAND, "record", chain.event_hash(), facts, proofs, "{}", words="does not exist")
    facts["inputs"] = [chain.epc(5)]
    chain.ok(BRAND, "record", chain.event_hash(), facts, {**proofs, **chain.proofs(5)}, "{}")
    assert chain.item(5)["state"] == "consumed" and chain.item(6)["commissioned"] is True
    chain.obj(BRAND, "shipping", (5,), to=CARRIER, refused="consumed")


def test_each_event_is_anchored_once_and_errors_are_declared_by_its_author(chain: Chain) -> None:
    facts = {"kind": "ObjectEvent", "action": "OBSERVE", "step": "inspecting", "epcs": [chain.epc(0)]}
    first = chain.event_hash()
    chain.ok(BRAND, "record", first, facts, chain.proofs(0), "{}")
    chain.refused(BRAND, "record", first, facts, {}, "{}", words="already recorded")
    chain.refused(BRAND, "record", "sha256:abc", facts, {}, "{}", words="not a cbv 2.0 hash")
    correction = chain.event_hash()
    chain.refused(CARRIER, "declare_error", correction, first, "{}", words="only brand-a declares")
    chain.ok(BRAND, "declare_error", correction, first, "{}")
    chain.refused(BRAND, "declare_error", chain.event_hash(), first, "{}", words="already has an error declaration")
    assert chain.ok(SHOP, "get_anchor", first)["error"] == correction


def test_a_pin_is_claimed_once_with_the_right_pin(chain: Chain) -> None:
    epc, pin, salt = chain.epc(3), chain.batch.pins[3], chain.batch.salts[3]
    proof = chain.proofs(3)[epc]
    chain.refused("consumer-service", "claim_pin", epc, "WRONGPIN00", salt, proof, words="wrong pin")
    chain.refused("consumer-service", "claim_pin", epc, pin, bytes(16), proof, words="wrong pin")
    chain.ok("consumer-service", "claim_pin", epc, pin.lower(), salt, proof)
    chain.refused("consumer-service", "claim_pin", epc, pin, salt, [], words="already claimed")


def test_only_the_brand_recalls_a_batch(chain: Chain) -> None:
    chain.refused(RIVAL, "recall", GTIN, "L1", "contamination", words="only brand-a recalls")
    chain.ok(BRAND, "recall", GTIN, "L1", "contamination")
    assert chain.ok(SHOP, "get_batch", GTIN, "L1")["recalled"] == "contamination"
    chain.refused(BRAND, "recall", GTIN, "L1", "again", words="already recalled")


def test_scan_logs_are_committed_once_per_period(chain: Chain) -> None:
    chain.ok("consumer-service", "commit_scans", "2026-11-25T10", b"\x01" * 32, 12)
    chain.refused("consumer-service", "commit_scans", "2026-11-25T10", b"\x02" * 32, 3, words="already committed")
