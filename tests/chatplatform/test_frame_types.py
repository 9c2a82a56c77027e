"""Every frame the server sends is declared in chatplatform/protocol.py, built there, and documented.

At run time every frame a socket sends in the tests is validated against its
socket's declaration (CHAT_CHECK_FRAMES, tests/conftest.py); here the source:
the sockets build no frame of their own, every type a builder makes is
declared, and docs/protocol.md lists each.
"""

import ast
import pathlib
import re

import pytest

from chatplatform import protocol

ROOT = pathlib.Path(__file__).resolve().parents[2]
DECLARED = {**protocol.VISITOR_OUTBOUND, **protocol.EXPERT_OUTBOUND, **protocol.MODERATION_OUTBOUND}
SOCKET_MODULES = [
    "chatplatform/consumers.py", "chatplatform/delivery.py", "chatplatform/sockets.py",
    "visitors/consumers.py", "visitors/session.py", "visitors/socket_actions.py",
    "experts/consumers.py", "experts/queue_watch.py", "experts/socket_actions.py",
    "moderation/consumers.py",
]


def _type_literals(tree) -> set[str]:
    """The values of "type" keys in the dict literals of ``tree``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                    found.add(value.value)
    return found


def _built_types() -> set[str]:
    """Every frame type chatplatform/protocol.py's builders make, and the kinds passed to alert_frame."""
    tree = ast.parse((ROOT / "chatplatform/protocol.py").read_text())
    built = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_frame"):
            built |= _type_literals(node)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):  # PONG
            built |= _type_literals(node)
    for app in ("chatplatform", "visitors", "experts", "moderation"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "alert_frame":
                    built |= {arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant)}
    return built


def test_every_frame_a_builder_makes_is_declared():
    built = _built_types()
    assert {"welcome", "message", "queue.added", "alert.raised", "counts", "pong"} <= built, built  # the scan sees them
    assert built - set(DECLARED) == set()


def test_every_declared_frame_is_built():
    assert set(DECLARED) - _built_types() == set()


def test_the_sockets_build_no_frame_of_their_own():
    # Guards against a frame made inline in a socket, which no declaration would check.
    inline = {}
    for name in SOCKET_MODULES:
        tree = ast.parse((ROOT / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("send_frame", "push"):
                kinds = _type_literals(ast.Module(body=[ast.Expr(arg) for arg in node.args], type_ignores=[]))
                if kinds:
                    inline.setdefault(name, set()).update(kinds)
    assert not inline, inline


def test_docs_protocol_lists_every_frame_the_server_sends():
    documented = set(re.findall(r'"type": "([a-z._]+)"', (ROOT / "docs/protocol.md").read_text()))
    assert set(DECLARED) - documented == set()


def test_each_socket_declares_what_it_sends():
    from experts.consumers import ExpertConsumer
    from moderation.consumers import ModerationConsumer
    from visitors.consumers import VisitorConsumer

    assert VisitorConsumer.outbound is protocol.VISITOR_OUTBOUND
    assert ExpertConsumer.outbound is protocol.EXPERT_OUTBOUND
    assert ModerationConsumer.outbound is protocol.MODERATION_OUTBOUND
    # A welcome differs by socket: each its own declaration.
    assert protocol.VISITOR_OUTBOUND["welcome"] is not protocol.EXPERT_OUTBOUND["welcome"]


def test_a_frame_off_its_declaration_is_refused_and_noted():
    protocol.outbound_violations.clear()
    protocol.check_outbound(protocol.VISITOR_OUTBOUND, protocol.experts_online_frame(3))
    with pytest.raises(ValueError):
        protocol.check_outbound(protocol.VISITOR_OUTBOUND, protocol.queue_removed_frame("c"))  # an expert's frame
    with pytest.raises(ValueError):
        protocol.check_outbound(protocol.EXPERT_OUTBOUND, {**protocol.presence_frame("online"), "extra": 1})
    assert len(protocol.outbound_violations) == 2
    protocol.outbound_violations.clear()
