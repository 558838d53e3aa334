"""The one error a mapping raises: a record the mapping data cannot express."""

from __future__ import annotations

from casebridge.errors import PermanentError


class MappingGap(PermanentError):
    """A source record that cannot be mapped; it is dead-lettered with this reason.

    The reason is read by admins in dead-letter listings and logs, so it names ids and codes
    only (case ids, global ids, service uuids, province codes), never child data.
    """
