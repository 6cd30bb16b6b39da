"""The factory PKI: CA hierarchy, device certificate profiles, batch minting, verification.

Modules: :mod:`oids` (project OIDs), :mod:`imei` (IMEI and its URN), :mod:`profiles` (the one
table of certificate profiles and the checks), :mod:`issue` (building certificates from it),
:mod:`authority` (the PKI folder), :mod:`ledger`, :mod:`mint`, :mod:`device_folder`,
:mod:`recovery` and :mod:`manifest` (batch minting), :mod:`verify` (accepting or refusing
chains), :mod:`revocation` (revoked list, CRL), :mod:`describe` (what ``dynsub pki show``
prints).
"""
