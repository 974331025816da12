"""Dependencies on what the lifespan built (main.py), one alias per thing: a route
takes the ones it uses. Each reads its own name on `app.state`, in the event
loop (a plain function would cost a thread hop per request); the domains' own
live beside them (auth/dependencies.py: TokenCodecDep, HasherDep, ThrottleDep)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from service.config import Settings
from service.control import ControlPublisher


def from_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency on what the lifespan keeps as `app.state.<name>`; the alias
    that uses it (Annotated[T, Depends(...)]) gives its type."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return dependency


SettingsDep = Annotated[Settings, Depends(from_state("settings"))]
# Control events for every instance's sockets, told after the change committed.
ControlPublisherDep = Annotated[ControlPublisher, Depends(from_state("control"))]
