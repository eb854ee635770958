"""The project catalog: media, jobs and (in later migrations) everything each department records."""

from posthouse.core.catalog.db import Catalog, as_utc, sqlite_url
from posthouse.core.catalog.models import Base, JobRecord, MediaRecord, SyncRecord, VfxVersionRecord

__all__ = [
    "Base",
    "Catalog",
    "JobRecord",
    "MediaRecord",
    "SyncRecord",
    "VfxVersionRecord",
    "as_utc",
    "sqlite_url",
]
