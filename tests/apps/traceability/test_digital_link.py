"""GS1 Digital Link URIs: build and parse, every part checked, round trips for any valid identifiers."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.traceability import digital_link
from apps.traceability.identifiers import CSET82, Gtin, IdentifierError, check_digit


def test_the_standard_example_parses() -> None:
    link = digital_link.parse("https://example.com/01/09506000134352/10/ABC1/21/12345?17=180426")
    assert (link.gtin.digits, link.lot, link.serial, link.expiry) == ("09506000134352", "ABC1", "12345", "180426")
    assert link.expiry_date() == date(2018, 4, 26) and link.item is not None and link.item.serial == "12345"


def test_build_encodes_what_the_uri_syntax_needs() -> None:
    link = digital_link.build("trace.example:8000", Gtin.parse("9506000134352"), lot="L/1", serial="A%B?C", expiry="261100")
    assert link.uri() == "https://trace.example:8000/01/09506000134352/10/L%2F1/21/A%25B%3FC?17=261100"
    assert digital_link.parse(link.uri()) == link
    assert link.expiry_date() == date(2026, 11, 30)  # DD 00: the month's last day


@pytest.mark.parametrize("uri, field", [
    ("https://x.test/01/09506000134353", "gtin"),
    ("https://x.test/21/123/01/09506000134352", "uri"),
    ("https://x.test/01/09506000134352/21/1/10/L", "uri"),
    ("https://x.test/01/09506000134352/10", "uri"),
    ("https://x.test/01/09506000134352/21/a%20b", "serial"),
    ("https://x.test/01/09506000134352?17=261332", "expiry"),
    ("ftp://x.test/01/09506000134352", "uri"),
    ("https://x.test/01/09506000134352/21/%FF", "uri"),
])
def test_malformed_links_are_refused_naming_the_part(uri: str, field: str) -> None:
    with pytest.raises(IdentifierError) as info:
        digital_link.parse(uri)
    assert info.value.field == field


gtins = st.text("0123456789", min_size=13, max_size=13).map(lambda body: Gtin.parse(body + str(check_digit(body))))
values = st.text(sorted(CSET82), min_size=1, max_size=20)


@given(gtins, st.none() | values, st.none() | values, st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_any_valid_link_round_trips(gtin: Gtin, lot: str | None, serial: str | None, expiry: date | None) -> None:
    text = None if expiry is None else expiry.strftime("%y%m%d")
    link = digital_link.build("resolver.example", gtin, lot, serial, text)
    assert digital_link.parse(link.uri()) == link
