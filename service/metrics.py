"""Prometheus metrics, one registry per app (several apps may share a test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("chat_ws_connections", "Open WebSocket connections", registry=r)
        self.messages_stored = Counter("chat_messages_stored", "Messages stored", registry=r)
        self.frames_delivered = Counter(
            "chat_frames_delivered", "Message frames queued to connections by live fan-out", registry=r
        )
        self.slow_consumer_closes = Counter(
            "chat_slow_consumer_closes",
            'Connections closed 1013 "slow consumer": a full outbound queue, or nothing read in time',
            registry=r,
        )
        self.replay_messages = Histogram(
            "chat_replay_messages",
            "Messages replayed per connection",
            buckets=(0, 1, 10, 50, 100, 250, 500, 1000, 5000),
            registry=r,
        )
        self.store_seconds = Histogram(
            "chat_store_seconds", "Storing one message, until commit", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.fanout_seconds = Histogram(
            "chat_fanout_seconds",
            "From publish after commit to delivery to local connections",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.broker_resyncs = Counter(
            "chat_broker_resyncs", "Catch-ups from the database after a broker reconnect", registry=r
        )
        self.peer_instances = Gauge(
            "chat_peer_instances", "Other instances heard of within PEER_LOST_SECONDS", registry=r
        )
        self.instances_lost = Counter(
            "chat_instances_lost", "Other instances not heard of for PEER_LOST_SECONDS (taken for dead)", registry=r
        )
        self.replica_up = Gauge(
            "chat_replica_up",
            "1 while a read replica answers, is a standby and is within the lag bound",
            ["replica"],
            registry=r,
        )
        self.replica_lag_seconds = Gauge(
            "chat_replica_lag_seconds",
            "How long a read replica has been behind the primary's WAL position (0: caught up)",
            ["replica"],
            registry=r,
        )
        self.replica_reads = Counter(
            "chat_replica_reads", "Reads answered by a read replica instead of the primary", ["replica"], registry=r
        )
        self.replica_fallbacks = Counter(
            "chat_replica_fallbacks",
            "Routed reads answered by the primary, by why: no replica usable, behind the read's position, an error",
            ["reason"],
            registry=r,
        )
        self.lost_publish_catch_ups = Counter(
            "chat_lost_publish_catch_ups",
            "Room feeds found behind the database and caught up from it, by what made them look",
            ["reason"],
            registry=r,
        )
