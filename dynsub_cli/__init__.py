"""dynsub: dynamic subscription generation for IoT UEs in 5G."""

__version__ = "0.1.0"
