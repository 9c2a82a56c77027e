"""The import graph the architecture promises (docs/architecture.md, "Layers"), read from the source."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Lower first: an app may import the ones before it, never one after it.
LAYERS = ("chatplatform", "visitors", "experts", "moderation", "attachments", "analytics")
# Where the apps are put together: the only chatplatform modules that name them.
COMPOSITION_ROOTS = {"chatplatform/asgi.py", "chatplatform/routing.py", "chatplatform/urls.py"}
# The sockets (and the database calls their frames make) are edges like views: the visitor's
# socket speaks for moderation (blocks, flood limits, reports) and the experts (next expert,
# who is online), so it may import them.
EDGES = {"visitors/consumers.py", "visitors/session.py", "visitors/socket_actions.py", "experts/consumers.py", "experts/queue_watch.py", "experts/socket_actions.py"}


def _imported_apps(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LAYERS)
    return found


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(ROOT).as_posix(), path


def test_no_module_imports_an_app_above_its_own():
    upward = []
    for rank, app in enumerate(LAYERS):
        above = set(LAYERS[rank + 1:])
        for name, path in _modules(app):
            if name in COMPOSITION_ROOTS or name in EDGES:
                continue
            upward += [f"{name} imports {other}" for other in sorted(_imported_apps(path) & above)]
    assert not upward, upward


def test_the_messaging_core_knows_nothing_of_routing():
    # visitors, its sockets included, never imports experts: the queue fan-out and next_expert are
    # the experts app's, reached through visitors/signals.py and visitors/router.py (experts/apps.py).
    reaching = [name for name, path in _modules("visitors") if "experts" in _imported_apps(path)]
    assert not reaching, reaching


def test_no_socket_imports_another_apps_socket():
    # The shared socket machinery is chatplatform's (consumers.py, delivery.py), not one app's socket.
    reaching = []
    for name in sorted(EDGES):
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".consumers") \
                    and node.module != "chatplatform.consumers":
                reaching.append(f"{name} imports {node.module}")
    assert not reaching, reaching


def test_the_scan_sees_imports():
    # Guards against a scan that passes because it reads nothing.
    assert "visitors" in _imported_apps(ROOT / "experts/services.py")
    assert {"visitors", "experts"} <= _imported_apps(ROOT / "chatplatform/routing.py")
