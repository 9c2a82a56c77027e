"""Every channel-layer event is declared in chatplatform/event_types.py, and handled by a socket."""

import ast
import pathlib

import pytest

from chatplatform.event_types import EVENTS

ROOT = pathlib.Path(__file__).resolve().parents[2]
SENDERS = {"send_event_on_commit", "send_event_now", "send_event_on_loop", "group_send", "send"}
APPS = ("chatplatform", "visitors", "experts", "moderation")


def _sent_event_types() -> dict[str, set[str]]:
    """Event types the source hands to the layer: dict literals passed to a sender, or named and passed."""
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            named, constants = {}, {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.Constant)):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            if isinstance(node.value, ast.Dict):
                                named[target.id] = node.value
                            elif isinstance(node.value.value, str):  # DOORBELL = "experts.changed"
                                constants[target.id] = node.value.value
            candidates = []
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name.endswith("_event"):
                    # A builder such as store.message_event, whose (group, event) a sender takes whole.
                    candidates += [n for n in ast.walk(node) if isinstance(n, ast.Dict)]
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SENDERS:
                    candidates += [named.get(arg.id) if isinstance(arg, ast.Name) else arg for arg in node.args]
            for literal in candidates:
                if isinstance(literal, ast.Dict):
                    for key, value in zip(literal.keys, literal.values):
                        if not (isinstance(key, ast.Constant) and key.value == "type"):
                            continue
                        kind = value.value if isinstance(value, ast.Constant) else constants.get(getattr(value, "id", None))
                        # ASGI messages (a socket's, or chatplatform/upload_limit.py's HTTP answer), not layer events.
                        if isinstance(kind, str) and not kind.startswith(("websocket.", "http.")):
                            found.setdefault(kind, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_every_event_the_source_sends_is_declared():
    sent = _sent_event_types()
    # The scan sees them (experts.changed through its module's constant).
    assert {"chat.message", "queue.added", "visitor.blocked", "alert.created", "experts.changed"} <= set(sent), sent
    undeclared = {kind: sorted(where) for kind, where in sent.items() if kind not in EVENTS}
    assert not undeclared, undeclared


def test_every_declared_event_is_sent_somewhere():
    # A declaration nobody sends is a stale contract.
    assert set(EVENTS) - set(_sent_event_types()) - {"layer.resync", "user.permissions_changed"} == set()


# Received on a process's own channel, not by a socket: the readiness probe's, and the doorbell
# the widgets' watcher reads (visitors/experts_online.py).
NOT_FOR_SOCKETS = {"health.check", "experts.changed"}


@pytest.mark.parametrize("kind", sorted(set(EVENTS) - NOT_FOR_SOCKETS))
def test_every_declared_event_has_a_handler_on_a_socket(kind):
    from experts.consumers import ExpertConsumer
    from moderation.consumers import ModerationConsumer
    from visitors.consumers import VisitorConsumer

    handler = kind.replace(".", "_")
    assert any(hasattr(socket, handler) for socket in (VisitorConsumer, ExpertConsumer, ModerationConsumer)), kind


def test_a_declaration_refuses_a_field_it_does_not_declare():
    from pydantic import ValidationError

    EVENTS["queue.removed"].model_validate({"type": "queue.removed", "conversation": "c"})
    with pytest.raises(ValidationError):
        EVENTS["queue.removed"].model_validate({"type": "queue.removed", "conversation": "c", "preview": "x"})


def test_the_experts_online_doorbell_is_the_declared_event():
    from visitors import experts_online

    EVENTS[experts_online.DOORBELL].model_validate({"type": experts_online.DOORBELL, "brand": "acme"})
