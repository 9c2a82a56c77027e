"""The shared socket machinery (chatplatform/sockets.py, chatplatform/beats.py): beats that survive
an outage of the database or the layer, and stop at a bug rather than hide it."""

import asyncio

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from chatplatform.beats import ProcessBeat, per_loop
from chatplatform.sockets import SocketLifecycle


class Beats(ProcessBeat):
    what = "test beat"

    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = list(outcomes)
        self.calls = 0

    def interval(self):
        return 0.01

    async def beat_once(self, index=0, slices=1):
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


async def test_a_process_beat_carries_on_after_a_database_or_layer_outage():
    beats = Beats([OperationalError("away"), RedisConnectionError("away")])
    beats.members["a"] = 1
    beats.start()
    await asyncio.sleep(0.1)
    assert beats.calls >= 3 and not beats.task.done()
    beats.members.clear()
    beats.stop_if_idle()
    assert beats.task is None


async def test_a_process_beat_stops_at_a_bug_instead_of_logging_it_for_ever():
    beats = Beats([KeyError("a bug")])
    beats.members["a"] = 1
    beats.start()
    await asyncio.sleep(0.05)
    assert beats.task.done() and isinstance(beats.task.exception(), KeyError)
    assert beats.calls == 1


async def test_per_loop_gives_one_instance_per_event_loop():
    made = per_loop(list)
    assert made() is made()


class Socket(SocketLifecycle):
    def __init__(self):
        self.init_lifecycle()


async def test_a_socket_beat_survives_an_outage_and_ends_when_it_says_so(settings):
    socket = Socket()
    outcomes = [OperationalError("away"), False, True]
    calls = []

    async def beat():
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    socket.start_beat(lambda: 0.01, beat, "test beat")
    await asyncio.wait_for(socket.beat_task, 2)
    assert len(calls) == 3 and socket.beat_task.exception() is None


async def test_a_socket_beat_stops_at_a_bug():
    socket = Socket()

    async def beat():
        raise ValueError("a bug")

    socket.start_beat(lambda: 0.01, beat, "test beat")
    with pytest.raises(ValueError):
        await asyncio.wait_for(socket.beat_task, 2)


async def test_the_hello_deadline_fires_unless_disarmed():
    socket = Socket()
    fired = []

    async def timed_out():
        fired.append(1)

    socket.arm_hello_deadline(0.01, timed_out)
    await asyncio.sleep(0.05)
    assert fired == [1]
    socket.arm_hello_deadline(0.01, timed_out)
    socket.disarm_hello_deadline()
    await asyncio.sleep(0.05)
    assert fired == [1]
