"""GS1 identifiers: check digits, normalisation, character sets and EPC URIs, with the GS1 examples."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.traceability.identifiers import (
    CSET82,
    Gln,
    Gtin,
    IdentifierError,
    Sgtin,
    Sscc,
    check_digit,
    parse_lot,
    parse_sgtin_epc_uri,
    sgtin_epc_uri,
)


@pytest.mark.parametrize("key", ["09506000134352", "9506000134352", "4006381333931", "5901234123457", "614141000036",
                                 "96385074"])
def test_published_gtins_are_accepted_and_normalised_to_14_digits(key: str) -> None:
    gtin = Gtin.parse(key)
    assert len(gtin.digits) == 14 and gtin.digits.endswith(key)


def test_gs1_examples_of_sscc_and_gln() -> None:
    assert Sscc.parse("106141412345678908").digits == "106141412345678908"
    assert Sscc.parse("376130321109103420")
    assert Gln.parse("9501101020016").digits == "9501101020016"


@pytest.mark.parametrize("bad, message", [
    ("09506000134353", "check digit 3; it should be 2"),
    ("0950600013435", "check digit"),
    ("12345", "5 digits"),
    ("0950600013435a", "digits only"),
    ("", "digits only"),
])
def test_bad_gtins_are_refused_with_the_reason(bad: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message) as info:
        Gtin.parse(bad)
    assert info.value.field == "gtin"


@given(st.text("0123456789", min_size=13, max_size=13), st.integers(0, 12), st.integers(1, 9))
def test_the_check_digit_catches_every_single_digit_error(body: str, position: int, delta: int) -> None:
    valid = body + str(check_digit(body))
    wrong = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1:]
    with pytest.raises(IdentifierError):
        Gtin.parse(wrong)
    assert Gtin.parse(valid).digits == valid


def test_serials_and_lots_use_character_set_82() -> None:
    assert Sgtin(Gtin.parse("09506000134352"), "AB-12/x").serial == "AB-12/x"
    assert parse_lot("L2026.11") == "L2026.11"
    for bad in ("", "x" * 21, "naïve", "a b", "a#b"):
        with pytest.raises(IdentifierError):
            parse_lot(bad)
    assert len(CSET82) == 82


def test_company_prefix_ownership() -> None:
    gtin = Gtin.parse("09506000134352")
    assert gtin.belongs_to("9506000") and not gtin.belongs_to("9506001") and not gtin.belongs_to("95a")


@given(st.text(sorted(CSET82), min_size=1, max_size=20), st.integers(6, 12))
def test_sgtin_epc_uris_round_trip(serial: str, prefix_length: int) -> None:
    item = Sgtin(Gtin.parse("09506000134352"), serial)
    uri = sgtin_epc_uri(item, prefix_length)
    assert uri.startswith("urn:epc:id:sgtin:") and parse_sgtin_epc_uri(uri) == item


def test_the_tds_example_epc_uri() -> None:
    item = parse_sgtin_epc_uri("urn:epc:id:sgtin:0614141.112345.400")
    assert item.gtin.digits == "10614141123459" and item.serial == "400"
    assert sgtin_epc_uri(item, 7) == "urn:epc:id:sgtin:0614141.112345.400"
