"""The engine's Starlette application: core routes plus every registered domain route."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from ._control import EngineControl
from ._control_http import control_routes
from ._mint import MINT_PATH, mint_endpoint
from ._registry import RouteSpec
from ._rest import DrainBody, http_exception_handler, make_route
from ._state import EngineState
from ._ws import WS_PATH, AbortPeer, ws_endpoint

__all__ = ["build_app"]


def build_app(
    state: EngineState, abort_peer: AbortPeer, control: EngineControl | None = None
) -> Starlette:
    """Build the ASGI app; routes registered later are added to it live.

    With ``control`` the app also serves the HTTP control plane under ``/_control/``
    (loopback peers only).
    """

    async def mint(request: Request) -> Response:
        return await mint_endpoint(state, request)

    async def ws(websocket: WebSocket) -> None:
        await ws_endpoint(state, abort_peer, websocket)

    app = Starlette(
        routes=[
            Route(MINT_PATH, mint, methods=["POST"]),
            WebSocketRoute(WS_PATH, ws),
            *(control_routes(control) if control is not None else ()),
        ],
        exception_handlers={HTTPException: http_exception_handler},
        middleware=[Middleware(DrainBody)],
    )

    def add(spec: RouteSpec) -> None:
        app.router.routes.append(make_route(state, spec))

    for spec in state.registry.routes:
        add(spec)
    state.registry.add_route_listener(add)
    return app
