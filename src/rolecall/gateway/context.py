"""Where a handler finds the process's services: on the app that serves it, set by `create_app`."""

from __future__ import annotations

from starlette.requests import Request

from rolecall.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
