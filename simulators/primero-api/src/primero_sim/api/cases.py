"""``/api/v2/cases`` index, show, create, PATCH and soft-delete."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim.api.requests import json_body, principal, sim
from primero_sim.errors import forbidden, not_found
from primero_sim.query import SUMMARY_FIELDS, parse_query, project
from primero_sim.scope import in_scope, readable, restricted, unreadable_param

JSON = "application/json"


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v2/cases")
    async def index(request: Request) -> Response:
        """Pre-serialised case JSON is spliced into the page: no per-request encoding.

        A role that cannot read a field has its filters on that field dropped, not refused
        (the answer is as if no filter was sent), and the field left out of every record.
        """
        user = principal(request).user
        state = sim(request)
        store = state.store
        pairs = [
            (name, value)
            for name, value in request.query_params.multi_items()
            if not unreadable_param(user, name)
        ]
        query = parse_query(pairs, store.fields_seen)
        ids = state.searcher.matching_ids(query)
        if user.group_permission != "all":
            ids = [i for i in ids if in_scope(user, store.get(i) or {}, state.directory)]
        start = (query.page - 1) * query.per
        order = query.order_by

        def sort_value(record_id: str) -> object:
            return (store.get(record_id) or {}).get(order)

        ordered = state.ties.page_order(ids, start, start + query.per, sort_value)
        page = ordered[start : start + query.per]
        if query.fields is None and not restricted(user):
            parts = [store.json_of(record_id) for record_id in page]
        else:
            chosen = [readable(user, store.get(i) or {}) for i in page]
            if query.fields is not None:
                chosen = [project(r, query.fields) for r in chosen]
            parts = [orjson.dumps(r) for r in chosen]
        metadata = orjson.dumps({"total": len(ids), "per": query.per, "page": query.page})
        body = b'{"data":[' + b",".join(parts) + b'],"metadata":' + metadata + b"}"
        return Response(body, media_type=JSON)

    @routes.get("/api/v2/cases/{record_id}")
    async def show(record_id: str, request: Request) -> Response:
        user = principal(request).user
        state = sim(request)
        store = state.store
        record = store.get(record_id)
        if record is None:
            raise not_found(record_id)
        if not in_scope(user, record, state.directory):
            raise forbidden()  # authorize! :read, @record
        fields = request.query_params.get("fields")
        if fields:
            chosen = SUMMARY_FIELDS if fields == "short" else tuple(fields.split(","))
            data = orjson.dumps(project(readable(user, record), chosen))
        elif restricted(user):
            data = orjson.dumps(readable(user, record))
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
