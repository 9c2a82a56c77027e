"""Settings that keep sockets alive under load."""

from django.conf import settings


def test_redis_reads_outlast_the_channel_layers_blocking_pop():
    """channels-redis blocks on BZPOPMIN for brpop_timeout seconds; a read timeout no longer than that
    raises TimeoutError in a consumer's receive and closes its socket."""
    from channels_redis.core import RedisChannelLayer

    assert settings.REDIS_SOCKET_TIMEOUT > RedisChannelLayer.brpop_timeout
    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"] == "channels_redis.core.RedisChannelLayer":
        for host in layer["CONFIG"]["hosts"]:
            assert host["socket_timeout"] is None or host["socket_timeout"] > RedisChannelLayer.brpop_timeout
