"""``/api/v2/cases`` index, show, create, PATCH and soft-delete."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim.api.requests import json_body, principal, sim
from primero_sim.errors import not_found
from primero_sim.query import SUMMARY_FIELDS, parse_query, project

JSON = "application/json"


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v2/cases")
    async def index(request: Request) -> Response:
        """Pre-serialised case JSON is spliced into the page: no per-request encoding."""
        principal(request)
        state = sim(request)
        store = state.store
        query = parse_query(request.query_params.multi_items(), store.fields_seen)
        ids = state.searcher.matching_ids(query)
        start = (query.page - 1) * query.per
        page = ids[start : start + query.per]
        if query.fields is None:
            parts = [store.json_of(record_id) for record_id in page]
        else:
            parts = [orjson.dumps(project(store.get(i) or {}, query.fields)) for i in page]
        metadata = orjson.dumps({"total": len(ids), "per": query.per, "page": query.page})
        body = b'{"data":[' + b",".join(parts) + b'],"metadata":' + metadata + b"}"
        return Response(body, media_type=JSON)

    @routes.get("/api/v2/cases/{record_id}")
    async def show(record_id: str, request: Request) -> Response:
        principal(request)
        store = sim(request).store
        record = store.get(record_id)
        if record is None:
            raise not_found(record_id)
        fields = request.query_params.get("fields")
        if fields:
            chosen = SUMMARY_FIELDS if fields == "short" else tuple(fields.split(","))
            data = orjson.dumps(project(record, chosen))
        else:
            data = store.json_of(record_id)
        return Response(b'{"data":' + data + b"}", media_type=JSON)

    @routes.post("/api/v2/cases")
    async def create(request: Request) -> Response:
        user = principal(request).user
        created = sim(request).cases.create(await json_body(request), user)
        if created is None:
            return Response(status_code=204)
        return Response(orjson.dumps({"data": created}), media_type=JSON)

    @routes.patch("/api/v2/cases/{record_id}")
    async def update(record_id: str, request: Request) -> Response:
        user = principal(request).user
        changed = sim(request).cases.update(record_id, await json_body(request), user)
        return Response(orjson.dumps({"data": changed}), media_type=JSON)

    @routes.delete("/api/v2/cases/{record_id}")
    async def destroy(record_id: str, request: Request) -> Response:
        user = principal(request).user
        return Response(
            orjson.dumps({"data": sim(request).cases.disable(record_id, user)}), media_type=JSON
        )

    return routes
