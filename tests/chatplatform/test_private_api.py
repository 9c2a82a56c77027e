"""The private parts of libraries chatplatform/ overrides or calls, pinned and checked.

chatplatform/layers.py subclasses channels-redis's layers and overrides or calls
methods and attributes that are not its public API. pyproject.toml pins
channels-redis to the exact version they were read from; this test fails when
an upgrade renames one or changes its signature, before a socket finds out.
(daphne's WebSocketFactory: tests/test_serve.py; django-tasks-db's worker: tests/test_worker.py.)
"""

import inspect
from importlib.metadata import version

import pytest
from channels_redis import utils
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection


def test_channels_redis_is_the_version_chatplatform_layers_was_written_against():
    assert version("channels-redis") == "4.3.0"


# (class, method, its parameters, a coroutine?) as chatplatform/layers.py overrides or calls them.
METHODS = [
    (RedisChannelLayer, "_clean_receive_backup", "(self, index, channel)", True),
    (RedisPubSubChannelLayer, "_get_layer", "(self)", False),
    (RedisPubSubLoopLayer, "__init__", "(self, hosts=None, prefix='asgi', on_disconnect=None, on_reconnect=None, channel_layer=None, **kwargs)", False),
    (RedisPubSubLoopLayer, "_subscribe_to_channel", "(self, channel)", True),
    (RedisPubSubLoopLayer, "receive", "(self, channel)", True),
    (RedisPubSubLoopLayer, "_get_shard", "(self, channel_or_group_name)", False),
    (RedisSingleShardConnection, "__init__", "(self, host, channel_layer)", False),
    (RedisSingleShardConnection, "subscribe", "(self, channel)", True),
    (RedisSingleShardConnection, "unsubscribe", "(self, channel)", True),
    (RedisSingleShardConnection, "publish", "(self, channel, message)", True),
    (RedisSingleShardConnection, "_do_receiving", "(self)", True),
    (RedisSingleShardConnection, "_receive_message", "(self, message)", False),
    (RedisSingleShardConnection, "_ensure_redis", "(self)", False),
    (RedisSingleShardConnection, "_ensure_receiver", "(self)", False),
]


@pytest.mark.parametrize("cls, name, parameters, coroutine", METHODS, ids=[f"{c.__name__}.{n}" for c, n, _, _ in METHODS])
def test_each_private_method_we_override_or_call_keeps_its_name_and_signature(cls, name, parameters, coroutine):
    method = getattr(cls, name, None)
    assert method is not None, f"{cls.__name__}.{name} is gone"
    assert str(inspect.signature(method)) == parameters
    assert inspect.iscoroutinefunction(method) is coroutine


def test_the_helpers_we_import_keep_their_signature():
    assert str(inspect.signature(utils._wrap_close)) == "(proxy, loop)"
    assert str(inspect.signature(utils.decode_hosts)) == "(hosts)"


def test_the_private_attributes_we_read_are_still_set():
    layer = RedisPubSubChannelLayer("redis://127.0.0.1:6379/0", prefix="contract")
    assert {"_args", "_kwargs", "_layers"} <= set(vars(layer))
    loop_layer = RedisPubSubLoopLayer(hosts=["redis://127.0.0.1:6379/0"], channel_layer=layer)
    assert {"channels", "groups", "_shards", "channel_layer"} <= set(vars(loop_layer))
    shard = loop_layer._shards[0]
    assert {"_subscribed_to", "_lock", "_redis", "_pubsub", "_receive_task", "channel_layer"} <= set(vars(shard))


def test_our_layers_still_build_on_them():
    from chatplatform import layers

    assert issubclass(layers.ChatRedisChannelLayer, RedisChannelLayer)
    assert issubclass(layers.ChatPubSubChannelLayer, RedisPubSubChannelLayer)
    assert issubclass(layers._LoopLayer, RedisPubSubLoopLayer)
    assert issubclass(layers._Shard, RedisSingleShardConnection)


def test_no_app_imports_a_librarys_private_name():
    # Private API use lives behind chatplatform/'s seams only (checked above), not in the apps.
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    own = ("chatplatform", "visitors", "experts", "moderation", "tests", "bench")
    found = []
    for app in ("visitors", "experts", "moderation"):
        for path in (root / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                        and not node.module.startswith(own) and node.module != "__future__":
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if private or any(part.startswith("_") for part in node.module.split(".")):
                        found.append(f"{path.relative_to(root)}: from {node.module} import {private}")
    assert not found, found
