"""What the messaging core tells whoever routes questions to experts, without knowing who that is.

The experts app receives them (experts/queue.py, connected in experts/apps.py)
and fans the question out to the brand's online experts; visitors imports no
app above it (docs/architecture.md, "Layers"). Each is sent inside the
writer's transaction: a receiver tells sockets after commit (send_event_on_commit).
"""

from django.dispatch import Signal

# A conversation waits for an expert from now on (it was started).
# Arguments: ``conversation`` (the row, with its brand), ``payload`` (its protocol object).
question_waiting = Signal()

# A waiting conversation ended before an expert claimed it.
# Arguments: ``conversation``.
question_withdrawn = Signal()

# A waiting conversation's visitor came or went: its entry in the queues shows whether they are here.
# Arguments: ``brand_slug``, ``payload`` (the conversation's protocol object).
waiting_visitor_changed = Signal()
