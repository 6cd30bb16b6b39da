"""The core configuration file, core.toml: load, validate, write with comments."""

from dynsub_cli.config.core import (
    BILLING_FIELDS,
    FILE_NAME,
    CoreConfig,
    EnrollmentConfig,
    LimitsConfig,
    ListenConfig,
    NetworkConfig,
    OperatorConfig,
    PkiConfig,
    Plan,
    ServiceType,
    StoreConfig,
    SuciConfig,
    SupiConfig,
    load,
    parse,
)
from dynsub_cli.config.units import format_bitrate, parse_bitrate
from dynsub_cli.config.writer import default_config, dumps, write, write_default

__all__ = [
    "BILLING_FIELDS",
    "FILE_NAME",
    "CoreConfig",
    "EnrollmentConfig",
    "LimitsConfig",
    "ListenConfig",
    "NetworkConfig",
    "OperatorConfig",
    "PkiConfig",
    "Plan",
    "ServiceType",
    "StoreConfig",
    "SuciConfig",
    "SupiConfig",
    "default_config",
    "dumps",
    "format_bitrate",
    "load",
    "parse",
    "parse_bitrate",
    "write",
    "write_default",
]
