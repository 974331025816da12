"""Dependencies on what the lifespan built (main.py), one alias per thing: a route
takes the ones it uses. Each reads its own name on `app.state`, in the event
loop (a plain function would cost a thread hop per request); the domains' own
live beside them (auth/dependencies.py: TokenCodecDep, HasherDep, ThrottleDep;
messages/router.py: WriterDep)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.config import Settings
from service.control import ControlPublisher


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _control(request: Request) -> ControlPublisher:
    control: ControlPublisher = request.app.state.control
    return control


SettingsDep = Annotated[Settings, Depends(_settings)]
# Control events for every instance's sockets, told after the change committed.
ControlPublisherDep = Annotated[ControlPublisher, Depends(_control)]
