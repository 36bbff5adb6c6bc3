"""EPCIS simple query parameters over parsed events: each parameter, pattern matching, ordering and paging."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.traceability.epcis import (
    EpcisError,
    EpcisEvent,
    EpcPattern,
    error_declaration,
    event_from_fields,
    filter_events,
    parse_document,
    parse_query_params,
    to_document,
)
from apps.traceability.epcis.query import page_token

ITEM = "urn:epc:id:sgtin:0614141.107346.2017"
ITEM_LINK = "https://id.gs1.org/01/10614141073464/21/2017"
OTHER_ITEM = "https://id.gs1.org/01/09506000134352/21/X-9"
PALLET = "urn:epc:id:sscc:0614141.1234567890"
PALLET_LINK = "https://id.gs1.org/00/106141412345678908"
LOT = "urn:epc:class:lgtin:4012345.012345.L1"
DOCK = "urn:epc:id:sgln:0614141.00777.0"
DOCK_LINK = "https://id.gs1.org/414/0614141007776"
FARM = "https://id.gs1.org/417/9506000134307"


def _events() -> list[EpcisEvent]:
    raws = [
        event_from_fields("ObjectEvent", action="ADD", event_time="2024-05-01T08:00:00+08:00", epcs=[ITEM],
                          biz_step="commissioning", disposition="active", read_point=DOCK,
                          quantities=[(LOT, "3", "KGM")]),
        event_from_fields("AggregationEvent", action="ADD", event_time="2024-05-01T01:00:00Z", parent_id=PALLET,
                          child_epcs=[ITEM_LINK, OTHER_ITEM], biz_step="packing", read_point=DOCK_LINK),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time="2024-05-02T10:00:00.000+08:00",
                          epcs=[PALLET_LINK], biz_step="shipping", disposition="in_transit", read_point=DOCK,
                          biz_location=DOCK_LINK, biz_transactions=[("po", "urn:epcglobal:cbv:bt:9506000134307:PO7")],
                          sources=[("owning_party", FARM)], destinations=[("owning_party", "urn:epc:id:pgln:0614141.00777")]),
        event_from_fields("TransformationEvent", event_time="2024-05-03T00:00:00Z", input_epcs=[ITEM],
                          input_quantities=[(LOT, "1")], output_epcs=[OTHER_ITEM], biz_step="commissioning",
                          transformation_id="urn:epc:id:gdti:0614141.00001.77"),
    ]
    raws[0]["recordTime"] = "2024-05-01T00:00:05Z"
    raws[1]["recordTime"] = "2024-05-01T01:00:05Z"
    raws[0]["eventID"] = "urn:uuid:first"
    declaration = error_declaration(raws[2], "did_not_occur", ["urn:uuid:fix"], declaration_time="2024-05-04T00:00:00Z")
    return parse_document(to_document([*raws, declaration]))


EVENTS = _events()


def _indexes(params: dict[str, Any]) -> list[int]:
    query = parse_query_params(params)
    return [i for i, event in enumerate(EVENTS) if query.matches(event)]


@pytest.mark.parametrize("params, expected", [
    ({}, [0, 1, 2, 3, 4]),
    ({"eventType": "ObjectEvent"}, [0, 2, 4]),
    ({"eventType": "AggregationEvent|TransformationEvent"}, [1, 3]),
    ({"eventType": ["AggregationEvent", "TransformationEvent"]}, [1, 3]),
    ({"GE_eventTime": "2024-05-01T01:00:00Z"}, [1, 2, 3, 4]),  # event 0 is 00:00Z, written in +08:00
    ({"LT_eventTime": "2024-05-01T09:00:00+08:00"}, [0]),
    ({"GE_eventTime": "2024-05-01T00:00:00Z", "LT_eventTime": "2024-05-01T01:00:00Z"}, [0]),
    ({"GE_recordTime": "2024-05-01T00:30:00Z"}, [1]),  # events without a recordTime are left out
    ({"LT_recordTime": "2024-05-01T00:30:00Z"}, [0]),
    ({"EQ_action": "ADD"}, [0, 1]),
    ({"EQ_action": "OBSERVE|DELETE"}, [2, 4]),
    ({"EQ_bizStep": "commissioning"}, [0, 3]),
    ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-packing"}, [1]),
    ({"EQ_bizStep": "cbv:BizStep-shipping"}, [2, 4]),
    ({"EQ_disposition": "in_transit|active"}, [0, 2, 4]),
    ({"EQ_readPoint": DOCK_LINK}, [0, 1, 2, 4]),
    ({"EQ_bizLocation": DOCK}, [2, 4]),
    ({"EQ_transformationID": "urn:epc:id:gdti:0614141.00001.77"}, [3]),
    ({"MATCH_epc": ITEM}, [0, 1]),  # the URN and the Digital Link of one item match each other
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"}, [0, 1]),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"}, [0, 1]),
    ({"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.*"}, [0, 1]),
    ({"MATCH_epc": "https://id.gs1.org/01/09506000134352/21/*"}, [1]),
    ({"MATCH_epc": "urn:epc:idpat:sscc:0614141.*"}, [2, 4]),
    ({"MATCH_parentID": PALLET_LINK}, [1]),
    ({"MATCH_inputEPC": ITEM_LINK}, [3]),
    ({"MATCH_outputEPC": "https://id.gs1.org/01/09506000134352/*"}, [3]),
    ({"MATCH_anyEPC": PALLET}, [1, 2, 4]),
    ({"MATCH_anyEPC": "urn:epc:id:sgtin:0614141.107346.2017|" + OTHER_ITEM}, [0, 1, 3]),
    ({"MATCH_epcClass": "https://id.gs1.org/01/04012345123456/10/L1"}, [0]),
    ({"MATCH_anyEPCClass": LOT}, [0, 3]),
    ({"EQ_eventID": "urn:uuid:first"}, [0]),
    ({"EXISTS_errorDeclaration": "true"}, [4]),
    ({"EXISTS_errorDeclaration": "false"}, [0, 1, 2, 3, 4]),
    ({"EQ_errorReason": "did_not_occur"}, [4]),
    ({"EQ_correctiveEventID": "urn:uuid:fix"}, [4]),
    ({"GE_errorDeclarationTime": "2024-05-05T00:00:00Z"}, []),
    ({"EQ_bizTransaction_po": "urn:epcglobal:cbv:bt:9506000134307:PO7"}, [2, 4]),
    ({"EQ_source_owning_party": "urn:epc:id:pgln:9506000.13430"}, [2, 4]),
    ({"EQ_destination_owning_party": "https://id.gs1.org/417/0614141007776"}, [2, 4]),
    ({"EQ_destination_possessing_party": "https://id.gs1.org/417/0614141007776"}, []),
    ({"eventType": "ObjectEvent", "EQ_bizStep": "shipping", "MATCH_epc": PALLET}, [2, 4]),
])
def test_each_parameter_selects_the_right_events(params: dict[str, Any], expected: list[int]) -> None:
    assert _indexes(params) == expected


@pytest.mark.parametrize("params, name, message", [
    ({"EQ_colour": "red"}, "EQ_colour", "unknown query parameter"),
    ({"GE_eventTime": "2024-05-01"}, "GE_eventTime", "not a timestamp"),
    ({"LT_eventTime": ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]}, "LT_eventTime", "exactly one value"),
    ({"EQ_action": "ADD|MOVE"}, "EQ_action", "'MOVE' is not ADD"),
    ({"EQ_action": "ADD||OBSERVE"}, "EQ_action", "empty value"),
    ({"eventType": "QuantityEvent"}, "eventType", "not an EPCIS event type"),
    ({"EQ_bizStep": "shipped"}, "EQ_bizStep", "not a CBV bizStep"),
    ({"EQ_readPoint": "the dock"}, "EQ_readPoint", "not a URI"),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.2017"}, "MATCH_epc", "after a * must be * too"),
    ({"MATCH_anyEPC": "urn:epc:id:sgtin:0614141.1073.1"}, "MATCH_anyEPC", "not a valid EPC URN"),
    ({"EXISTS_errorDeclaration": "yes"}, "EXISTS_errorDeclaration", "true or false"),
    ({"orderBy": "bizStep"}, "orderBy", "eventTime or recordTime"),
    ({"orderBy": "eventTime", "orderDirection": "UP"}, "orderDirection", "ASC or DESC"),
    ({"orderDirection": "ASC"}, "orderDirection", "needs orderBy"),
    ({"eventCountLimit": "2"}, "eventCountLimit", "needs orderBy"),
    ({"orderBy": "eventTime", "eventCountLimit": "2", "maxEventCount": "3"}, "eventCountLimit", "exclude each other"),
    ({"maxEventCount": "0"}, "maxEventCount", "positive whole number"),
    ({"perPage": "-1"}, "perPage", "positive whole number"),
    ({"perPage": "10001"}, "perPage", "at most 10000"),
    ({"nextPageToken": "not-a-token"}, "nextPageToken", "not a nextPageToken"),
    ({"EQ_eventID": 7.5}, "EQ_eventID", "values must be text"),
])
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], name: str, message: str) -> None:
    with pytest.raises(EpcisError) as info:
        parse_query_params(params)
    assert info.value.field == name
    assert message in info.value.message


def test_ordering_and_limits() -> None:
    times = [e.event_time for e in filter_events(EVENTS, {"orderBy": "eventTime", "orderDirection": "ASC"})]
    assert times == [EVENTS[i].event_time for i in (0, 1, 2, 4, 3)]
    newest = filter_events(EVENTS, {"orderBy": "eventTime", "eventCountLimit": "2"})
    assert [e.type for e in newest] == ["TransformationEvent", "ObjectEvent"]  # DESC by default
    by_record = filter_events(EVENTS, {"orderBy": "recordTime", "orderDirection": "DESC", "eventCountLimit": "1"})
    assert by_record == [EVENTS[1]]
    assert len(filter_events(EVENTS, {"maxEventCount": "5"})) == 5
    with pytest.raises(EpcisError, match="QueryTooLargeException") as info:
        filter_events(EVENTS, {"maxEventCount": "4"})
    assert info.value.field == "maxEventCount"


def test_paging_walks_every_result_once() -> None:
    seen: list[EpcisEvent] = []
    params: dict[str, Any] = {"perPage": "2", "orderBy": "eventTime", "orderDirection": "ASC"}
    pages = 0
    while True:
        page = parse_query_params(params).page(EVENTS)
        seen.extend(page.events)
        pages += 1
        if page.next_page_token is None:
            break
        params = {**params, "nextPageToken": page.next_page_token}
    assert pages == 3
    assert seen == filter_events(EVENTS, {"orderBy": "eventTime", "orderDirection": "ASC"})


def test_a_page_token_only_serves_its_own_query() -> None:
    token = parse_query_params({"perPage": "1", "eventType": "ObjectEvent"}).page(EVENTS).next_page_token
    assert token is not None
    with pytest.raises(EpcisError, match="another query") as info:
        parse_query_params({"perPage": "1", "eventType": "AggregationEvent", "nextPageToken": token}).page(EVENTS)
    assert info.value.field == "nextPageToken"
    forged = page_token(0, "0" * 16)
    with pytest.raises(EpcisError, match="another query"):
        parse_query_params({"nextPageToken": forged}).page(EVENTS)


def test_default_page_size() -> None:
    page = parse_query_params({}).page(EVENTS * 7)
    assert len(page.events) == 30 and page.next_page_token is not None


@pytest.mark.parametrize("pattern, epc, expected", [
    ("urn:epc:idpat:sgtin:0614141.107346.*", "https://resolver.example.com/01/10614141073464/21/7", True),
    ("urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:id:sgtin:0614141.107347.7", False),
    ("urn:epc:idpat:sgtin:*.*.*", OTHER_ITEM, True),
    ("urn:epc:idpat:sgtin:0614141.107346.*", PALLET, False),
    ("urn:epc:idpat:sgln:0614141.00777.*", DOCK_LINK, True),
    ("urn:epc:idpat:grai:4012345.00022.*", "https://id.gs1.org/8003/04012345000221334455", True),
    ("urn:epc:idpat:giai:4000001.*", "https://id.gs1.org/8004/4000001111", True),
    ("urn:epc:idpat:giai:4000002.*", "https://id.gs1.org/8004/4000001111", False),
    (PALLET, PALLET_LINK, True),
    (PALLET_LINK + "*", PALLET, True),
    ("https://example.com/x*", "https://example.com/xyz", True),
    ("https://example.com/x", "https://example.com/xyz", False),
])
def test_epc_patterns(pattern: str, epc: str, expected: bool) -> None:
    assert EpcPattern(pattern).matches(epc) is expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(range(len(EVENTS))), max_size=12), st.integers(1, 5),
       st.sampled_from(["eventTime", "recordTime", None]))
def test_pages_add_up_to_the_filtered_list(picks: list[int], per_page: int, order_by: str | None) -> None:
    events = [EVENTS[i] for i in picks]
    base: dict[str, Any] = {"perPage": str(per_page), "EQ_action": "ADD|OBSERVE|DELETE"}
    if order_by:
        base["orderBy"] = order_by
    collected: list[EpcisEvent] = []
    params = dict(base)
    while True:
        page = parse_query_params(params).page(events)
        assert len(page.events) <= per_page
        collected.extend(page.events)
        if page.next_page_token is None:
            break
        params = {**base, "nextPageToken": page.next_page_token}
    assert collected == parse_query_params(base).filter(events)
