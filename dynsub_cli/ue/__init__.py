"""The UE: onboarding with its factory certificate, registering with its subscription.

procedure: what the sans-I/O procedures share; onboarding and registration: the two
procedures; client: their TCP shell; device: the factory credentials; state: the generated
subscription on disk.

The bounds of a UE run are here, in the package itself, so that the command line can offer
them without importing the UE's TLS and NAS modules (its help is read before anything runs).
"""

#: Seconds a UE waits for each answer of the core.
DEFAULT_TIMEOUT = 10.0
#: `dynsub ue load`: at most this many arrivals, seconds, and connections at once.
MAX_COUNT = 1_000_000
MAX_DURATION = 24 * 3600.0
MAX_CONCURRENCY = 1024
