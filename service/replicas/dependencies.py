"""The routed reads, for the routes whose reads a replica may answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.dependencies import from_state
from service.replicas.routing import Reads

RoutedReadsDep = Annotated[Reads, Depends(from_state("routed_reads"))]
