"""The private servers the fault tests use do what their fixtures promise."""

from __future__ import annotations

import psycopg
import pytest
import redis

from .servers import PostgresServer, RedisServer


def test_the_redis_server_stops_starts_freezes_and_thaws(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=0.5)
    try:
        client.set("k", "v")
        redis_server.freeze()
        with pytest.raises(redis.RedisError):
            client.get("k")
        redis_server.thaw()
        assert client.get("k") == b"v"
        redis_server.stop()
        with pytest.raises(redis.RedisError):
            client.ping()
        redis_server.start()
        assert client.get("k") is None  # nothing is persisted
    finally:
        client.close()


def _select_one(server: PostgresServer) -> int:
    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres connect_timeout=1"
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_the_postgres_server_stops_starts_freezes_and_thaws(postgres_server: PostgresServer) -> None:
    assert postgres_server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _select_one(postgres_server) == 1
    postgres_server.freeze()
    try:
        with pytest.raises(psycopg.OperationalError):
            _select_one(postgres_server)
    finally:
        postgres_server.thaw()
    assert _select_one(postgres_server) == 1
    postgres_server.stop()
    with pytest.raises(psycopg.OperationalError):
        _select_one(postgres_server)
    postgres_server.start()
    assert _select_one(postgres_server) == 1
