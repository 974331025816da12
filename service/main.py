"""The composition root: create_app(), and the lifespan that builds what routes and sockets use (State)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import migrate
from service.apidocs.policy import DocsPolicy
from service.apidocs.router import router as apidocs_router
from service.auth.router import router as auth_router
from service.auth.security import PasswordHasher, TokenCodec
from service.auth.throttle import LoginThrottle
from service.config import Settings, get_settings
from service.db import Databases, open_databases
from service.direct.router import router as direct_router
from service.errors import install_error_handlers
from service.files.images import Thumbnailer
from service.files.router import router as files_router
from service.files.storage import open_storage
from service.files.sweep import OrphanSweep
from service.files.uploads import Uploads
from service.health.router import router as health_router
from service.markers.router import router as markers_router
from service.messages.pins_router import router as pins_router
from service.messages.reactions_router import router as reactions_router
from service.messages.router import router as messages_router
from service.messages.writer import MessageWriter
from service.metrics import Metrics
from service.presence import create_presence
from service.presence.router import router as presence_router
from service.realtime.broker import Broker, create_broker
from service.realtime.control_events import ControlEvents
from service.realtime.endpoint import Sockets
from service.realtime.endpoint import routes as socket_routes
from service.realtime.handshake import Gate
from service.realtime.hub import Hub
from service.realtime.read_markers import ReadMarkers
from service.realtime.roster import Roster
from service.realtime.sending import Sending
from service.realtime.subscribing import Joining
from service.replicas.routing import Reads
from service.replicas.standby import Replica
from service.rooms.router import router as rooms_router
from service.search.router import router as search_router
from service.transport.body import BodyLimit
from service.transport.sockets import SocketsFirst
from service.userlimits import UserLimits
from service.users.router import router as users_router
from service.web import install as install_web

API_PREFIX = "/api/v1"


def served_app() -> SocketsFirst:
    """What `chat-service serve` runs in each worker process."""
    return served(create_app(freeze_heap=True))


def served(app: FastAPI) -> SocketsFirst:
    """The app as uvicorn serves it: its WebSocket routes live only here."""
    return SocketsFirst(app, socket_routes)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """The app; `freeze_heap` for a process that serves only it (see lifespan)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        databases = open_databases(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        state = _build(settings, databases)
        try:
            await migrate.ensure_current(databases.write_engine)
            await state.hasher.prepare()
            await state.hub.start()
            state.writer.start()
            state.orphan_sweep.start()
            state.routed_reads.start()
            _keep(app, state)
            if freeze_heap:
                # What startup made lives as long as the process: kept out of the
                # cyclic GC, a full collection no longer walks it (about 180 ms a
                # pause under load, every few seconds).
                gc.collect()
                gc.freeze()
            yield
            await state.orphan_sweep.stop()
            await state.hub.stop()
            await state.writer.stop()
        finally:
            await state.routed_reads.stop()
            await state.throttle.close()
            await state.user_limits.close()
            await databases.dispose()

    # /docs and /redoc with their assets served here: they work offline and load nothing from elsewhere.
    app = FastAPIOffline(
        title="Chat service",
        version="0.1.0",
        # No validator badge: Swagger UI would fetch it from another host.
        swagger_ui_parameters={"validatorUrl": None},
        lifespan=lifespan,
    )
    # Uploads are bounded by CHAT_MAX_FILE_BYTES, read as they arrive (files/uploads.py).
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, unlimited_paths=(f"{API_PREFIX}/files",))
    app.add_middleware(DocsPolicy)
    install_error_handlers(app)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(rooms_router, prefix=API_PREFIX)
    app.include_router(messages_router, prefix=API_PREFIX)
    app.include_router(reactions_router, prefix=API_PREFIX)
    app.include_router(pins_router, prefix=API_PREFIX)
    app.include_router(markers_router, prefix=API_PREFIX)
    app.include_router(direct_router, prefix=API_PREFIX)
    app.include_router(search_router, prefix=API_PREFIX)
    app.include_router(users_router, prefix=API_PREFIX)
    app.include_router(presence_router, prefix=API_PREFIX)
    app.include_router(files_router, prefix=API_PREFIX)
    app.include_router(health_router)
    app.include_router(apidocs_router)
    install_web(app)

    return app


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """What the lifespan builds, each thing kept on `app.state` under its field's
    name: a route takes the one it uses through its dependency (SettingsDep,
    TokenCodecDep, ControlPublisherDep, ...); nothing below this module takes the whole."""

    settings: Settings
    engine: AsyncEngine  # transactions that may write (REST)
    sessionmaker: async_sessionmaker[AsyncSession]
    # Read-only transactions: on SQLite WAL readers beside the writer, on
    # PostgreSQL a pool of their own (db.py).
    read_engine: AsyncEngine
    reads: async_sessionmaker[AsyncSession]
    # Reads a replica may answer (replicas/routing.py); without replicas, the read engine's.
    routed_reads: Reads
    hasher: PasswordHasher
    throttle: LoginThrottle
    codec: TokenCodec
    metrics: Metrics
    writer: MessageWriter
    user_limits: UserLimits
    hub: Hub  # the live side, started and stopped by the lifespan; the parts routes use follow
    control: ControlEvents
    roster: Roster
    broker: Broker
    sockets: Sockets  # what the socket routes use (realtime/endpoint.py)
    uploads: Uploads  # files: storage, uploads, thumbnails
    orphan_sweep: OrphanSweep


def _build(settings: Settings, databases: Databases) -> State:
    metrics = Metrics()
    hub = Hub(
        create_broker(settings.redis_url, settings.redis_prefix),
        create_presence(settings.redis_url, settings.redis_prefix, settings.presence_ttl_seconds),
        databases.reads,
        settings,
        metrics,
        read_thread_engine=databases.read_thread_engine,
    )
    hasher = PasswordHasher(settings)
    throttle = LoginThrottle(settings)
    codec = TokenCodec(settings.resolve_secret_key(), settings)
    storage = open_storage(
        settings.files_location(), s3_endpoint_url=settings.s3_endpoint_url, s3_region=settings.s3_region
    )
    writer = MessageWriter(
        databases.writer_engine,
        settings.store_batch,
        thread_engine=databases.writer_thread_engine,
        on_stored=hub.fanout.publish_stored,
        on_read=hub.control.read_moved,
    )
    return State(
        settings=settings,
        engine=databases.write_engine,
        sessionmaker=databases.writes,
        read_engine=databases.read_engine,
        reads=databases.reads,
        routed_reads=Reads(
            databases.read_engine,
            [Replica(url) for url in settings.replica_urls],
            settings.replica_max_lag_seconds,
            metrics,
        ),
        hasher=hasher,
        throttle=throttle,
        codec=codec,
        metrics=metrics,
        writer=writer,
        user_limits=UserLimits(settings),
        hub=hub,
        control=hub.control,
        roster=hub.roster,
        broker=hub.broker,
        sockets=Sockets(
            gate=Gate(settings, hub.registry, databases.reads, codec),
            joining=Joining(hub.feeds, hub.roster, databases.reads, settings, metrics),
            sending=Sending(writer, hub.feeds, metrics),
            read_markers=ReadMarkers(databases.writes, hub.control),
            feeds=hub.feeds,
            roster=hub.roster,
            settings=settings,
            metrics=metrics,
        ),
        uploads=Uploads(
            storage,
            Thumbnailer(settings.max_image_pixels),
            databases.reads,
            databases.writes,
            max_file_bytes=settings.max_file_bytes,
            quota_bytes=settings.file_quota_bytes,
        ),
        orphan_sweep=OrphanSweep(databases.writes, storage, settings.file_orphan_hours),
    )


def _keep(app: FastAPI, state: State) -> None:
    for field in fields(state):
        setattr(app.state, field.name, getattr(state, field.name))
