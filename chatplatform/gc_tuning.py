"""The garbage collector's settings for a server process that holds thousands of sockets.

CPython's full collection (generation 2) walks every object the process holds,
with the event loop stopped. With 4,000 sockets open that was about 700,000
objects and 0.6 s per collection, several times a minute in steady chat: that
alone made the benchmark's p99 (docs/performance.md). Two changes, made once
the application is loaded (chatplatform/asgi.py):

* ``gc.freeze()``: what exists once Django and the application are loaded
  (modules, settings, URL patterns, the admin) lives as long as the process,
  and full collections stop walking it;
* a higher threshold for the youngest generation (CHAT_GC_GEN0_THRESHOLD
  allocations, 50,000 instead of CPython's 700). The objects of one frame or
  one event (dicts, coroutines, futures) die before they are promoted, so the
  older generations fill up, and are walked, far less often.

CHAT_GC_GEN0_THRESHOLD=0 keeps CPython's defaults and freezes nothing.
"""

import gc

from django.conf import settings


def tune_for_many_sockets() -> bool:
    """Apply the settings above; return whether anything changed."""
    threshold = settings.CHAT_GC_GEN0_THRESHOLD
    if threshold <= 0:
        return False
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)
    return True
