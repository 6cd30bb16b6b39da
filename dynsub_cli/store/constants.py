"""The store's words that its command line offers before anything runs: a record's state and
the export formats.

They are defined here, importing nothing but :mod:`enum`, so that `dynsub store --help` can
list them without importing SQLite, the backends or the sealing (issue 11: start-up);
:mod:`dynsub_cli.store.model` and :mod:`dynsub_cli.store.export` hand them out as their own.
"""

from enum import StrEnum


class State(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # kept, but registrations are rejected until resumed
    REPLACED = "replaced"  # superseded by a new record (re-onboarding policy "new-record")


class Format(StrEnum):
    """What `dynsub store export --format` writes (:func:`dynsub_cli.store.export.write`)."""

    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    OPEN5GS = "open5gs"
