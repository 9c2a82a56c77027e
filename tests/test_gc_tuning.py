"""The server process's garbage-collector settings (chatplatform/gc_tuning.py)."""

import gc

import pytest

from chatplatform.gc_tuning import tune_for_many_sockets


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_loaded_objects_are_frozen_and_young_collections_are_rarer(restored_gc, settings):
    # Guards against: full collections walking everything Django loaded (0.6 s pauses at 4,000 sockets).
    settings.CHAT_GC_GEN0_THRESHOLD = 50_000
    gc.unfreeze()
    assert tune_for_many_sockets()
    assert gc.get_freeze_count() > 10_000  # Django, the app, the test run: all loaded already
    assert gc.get_threshold()[0] == 50_000


def test_zero_keeps_the_defaults(restored_gc, settings):
    settings.CHAT_GC_GEN0_THRESHOLD = 0
    gc.unfreeze()
    before = gc.get_threshold()
    assert not tune_for_many_sockets()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
