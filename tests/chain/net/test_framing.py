"""Frames, the send queue, the inbox, backoff and config: the pieces without sockets."""
from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.net import (
    Backoff,
    BackoffConfig,
    ConnectionClosedError,
    FrameReader,
    FrameTooLargeError,
    Inbox,
    Message,
    NetConfig,
    NetConfigError,
    NetTimeoutError,
    NotRunningError,
    Overflow,
    Priority,
    SendQueue,
    encode_frame,
)

from .conftest import run


def _stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=2000), max_size=8))
def test_frames_round_trip_in_order(payloads: list[bytes]) -> None:
    async def scenario() -> list[bytes]:
        frames = FrameReader(_stream(b"".join(encode_frame(p) for p in payloads)), max_size=2000)
        out = []
        while (body := await frames.read()) is not None:
            out.append(body)
        return out

    assert run(scenario()) == payloads


def test_header_is_four_byte_big_endian_length() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode_frame(b"") == b"\x00\x00\x00\x00"


def test_encode_refuses_oversized_payloads() -> None:
    encode_frame(b"x" * 10, max_size=10)
    with pytest.raises(FrameTooLargeError) as info:
        encode_frame(b"x" * 11, max_size=10)
    assert info.value.code == "too_large"


def test_oversized_frame_is_refused_from_its_header_without_waiting_for_the_body() -> None:
    async def scenario() -> None:
        reader = _stream(struct.pack(">I", 0xFFFFFFFF), eof=False)  # 4 GiB announced, nothing follows
        async with asyncio.timeout(1):
            with pytest.raises(FrameTooLargeError):
                await FrameReader(reader, max_size=1024).read()
        assert len(reader._buffer) == 0  # nothing buffered beyond the header

    run(scenario())


def test_end_of_stream_between_inside_header_and_inside_body() -> None:
    async def scenario() -> None:
        assert await FrameReader(_stream(b"")).read() is None
        with pytest.raises(ConnectionClosedError):
            await FrameReader(_stream(b"\x00\x00")).read()
        with pytest.raises(ConnectionClosedError):
            await FrameReader(_stream(b"\x00\x00\x00\x05ab")).read()

    run(scenario())


def test_idle_and_frame_timeouts() -> None:
    async def scenario() -> None:
        with pytest.raises(NetTimeoutError, match="no frame within"):
            await FrameReader(_stream(b"", eof=False)).read(idle_timeout=0.05)
        with pytest.raises(NetTimeoutError, match="did not arrive within"):
            await FrameReader(_stream(b"\x00\x00\x00\x05ab", eof=False)).read(idle_timeout=1, frame_timeout=0.05)

    run(scenario())


def test_send_queue_serves_high_first_and_fifo_within_a_priority() -> None:
    q = SendQueue(10, 1000)
    for frame, prio in ((b"l1", Priority.LOW), (b"h1", Priority.HIGH), (b"l2", Priority.LOW), (b"h2", Priority.HIGH)):
        assert q.push(frame, prio) is Overflow.QUEUED
    assert [q.pop_many(0) for _ in range(5)] == [[b"h1"], [b"h2"], [b"l1"], [b"l2"], []]
    assert q.bytes == 0


def test_send_queue_pops_a_burst_in_order_within_a_byte_budget() -> None:
    q = SendQueue(10, 1000)
    for frame, prio in ((b"l1", Priority.LOW), (b"h1", Priority.HIGH), (b"h2-long", Priority.HIGH),
                        (b"l2", Priority.LOW)):
        q.push(frame, prio)
    assert q.pop_many(4) == [b"h1"]  # h2 does not fit the budget, and no LOW frame jumps ahead of it
    assert q.pop_many(1) == [b"h2-long"]  # one frame always goes, however large
    assert q.pop_many(100) == [b"l1", b"l2"]
    assert q.pop_many(100) == [] and q.bytes == 0
    q.push(b"h3", Priority.HIGH)
    q.push(b"l3", Priority.LOW)
    assert q.pop_many(4) == [b"h3", b"l3"] and q.bytes == 0


def test_send_queue_evicts_oldest_low_then_refuses() -> None:
    q = SendQueue(3, 1000)
    assert q.push(b"a", Priority.LOW) is Overflow.QUEUED
    assert q.push(b"b", Priority.LOW) is Overflow.QUEUED
    assert q.push(b"c", Priority.HIGH) is Overflow.QUEUED
    assert q.push(b"d", Priority.LOW) is Overflow.QUEUED  # evicts a
    assert q.push(b"e", Priority.HIGH) is Overflow.QUEUED  # evicts b
    assert q.dropped == 2
    assert q.push(b"f", Priority.HIGH) is Overflow.QUEUED  # evicts d
    assert q.push(b"g", Priority.LOW) is Overflow.DROPPED  # only HIGH left: the new LOW is dropped
    assert q.push(b"h", Priority.HIGH) is Overflow.CLOSE  # HIGH does not fit: the peer is too slow
    assert [q.pop_many(0) for _ in range(4)] == [[b"c"], [b"e"], [b"f"], []]


def test_send_queue_is_bounded_in_bytes() -> None:
    q = SendQueue(1000, 10)
    assert q.push(b"x" * 6, Priority.LOW) is Overflow.QUEUED
    assert q.push(b"y" * 6, Priority.LOW) is Overflow.QUEUED  # evicts the first
    assert q.bytes == 6
    assert q.push(b"z" * 11, Priority.HIGH) is Overflow.CLOSE
    assert q.bytes == 0 and len(q) == 0  # the LOW one was evicted trying


def test_inbox_blocks_when_full_and_wakes_on_get() -> None:
    async def scenario() -> None:
        inbox = Inbox(max_messages=2, max_bytes=100)
        await inbox.put(Message("a", b"1"))
        await inbox.put(Message("a", b"2"))
        blocked = asyncio.create_task(inbox.put(Message("a", b"3")))
        await asyncio.sleep(0.01)
        assert not blocked.done() and len(inbox) == 2
        assert (await inbox.get()).payload == b"1"
        await asyncio.wait_for(blocked, 1)
        assert [(await inbox.get()).payload for _ in range(2)] == [b"2", b"3"]
        big = Message("a", b"x" * 500)
        await asyncio.wait_for(inbox.put(big), 1)  # larger than the byte bound, but the inbox is empty
        await inbox.close()
        assert (await inbox.get()) is big  # drained after close
        with pytest.raises(NotRunningError):
            await inbox.get()

    run(scenario())


def test_backoff_is_exponential_capped_and_jittered_deterministically() -> None:
    cfg = BackoffConfig(base=0.5, factor=2, maximum=4, jitter=0.5)
    assert [Backoff(cfg, lambda: 0.0).delay(n) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]
    assert [Backoff(cfg, lambda: 1.0).delay(n) for n in range(3)] == [0.25, 0.5, 1]
    assert Backoff(cfg).delay(10_000) <= 4
    b = Backoff(cfg, lambda: 0.0)
    assert [b.next_delay() for _ in range(3)] == [0.5, 1, 2] and b.attempt == 3
    b.reset()
    assert b.next_delay() == 0.5


@pytest.mark.parametrize("kwargs", [
    {"max_frame_size": 0},
    {"max_frame_size": 1 << 33},
    {"send_queue_bytes": 10},
    {"idle_timeout": 5, "keepalive_interval": 5},
    {"write_timeout": 0},
    {"listen_port": 70000},
    {"send_queue_messages": 0},
])
def test_config_refuses_settings_that_cannot_work(kwargs: dict[str, object]) -> None:
    with pytest.raises(NetConfigError):
        NetConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"base": 0}, {"factor": 0.5}, {"maximum": 0.1}, {"jitter": 2}])
def test_backoff_config_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(NetConfigError):
        BackoffConfig(**kwargs)
