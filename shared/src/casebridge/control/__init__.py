"""The control store: cursors, processed message ids, applied versions, lineage, audit log."""

from casebridge.control.model import AuditEntry, BreakerRecord, Cursor, LineageEntry, Problem
from casebridge.control.outage import ControlStoreUnavailable
from casebridge.control.settings import ControlStoreSettings
from casebridge.control.sql import SqlControlStore, open_control_store
from casebridge.control.store import ControlStore

__all__ = [
    "AuditEntry",
    "BreakerRecord",
    "ControlStore",
    "ControlStoreSettings",
    "ControlStoreUnavailable",
    "Cursor",
    "LineageEntry",
    "Problem",
    "SqlControlStore",
    "open_control_store",
]
