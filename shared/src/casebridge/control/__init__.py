"""The control store: cursors, processed message ids, applied versions, lineage, audit log."""

from casebridge.control.model import AuditEntry, Cursor, LineageEntry
from casebridge.control.store import ControlStore

__all__ = ["AuditEntry", "ControlStore", "Cursor", "LineageEntry"]
