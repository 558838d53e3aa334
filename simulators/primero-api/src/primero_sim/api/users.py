"""``GET /api/v2/users``: paginated like records (per capped at 1000); needs ``:index, User``."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim.api.requests import principal, sim
from primero_sim.errors import forbidden
from primero_sim.query import DEFAULT_PER, MAX_PER


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v2/users")
    async def index(request: Request) -> Response:
        if not principal(request).user.can_index_users:
            raise forbidden()  # authorize! :index, User (users_controller.rb:16)
        users = sim(request).directory.users
        page = max(_int(request.query_params.get("page"), 1), 1)
        per = min(max(_int(request.query_params.get("per"), DEFAULT_PER), 1), MAX_PER)
        chosen = users[(page - 1) * per : page * per]
        body = {
            "data": [u.to_api() for u in chosen],
            "metadata": {"total": len(users), "per": per, "page": page},
        }
        return Response(orjson.dumps(body), media_type="application/json")

    return routes
