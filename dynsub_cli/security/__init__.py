"""3GPP security building blocks, sans-I/O: bytes in, bytes out, no sockets, files or clocks.

Modules, by concept:

- :mod:`.kdf`: the generic KDF of TS 33.220 Annex B.2.0.
- :mod:`.keys`: the 5G key hierarchy of TS 33.501 Annex A (KAUSF, RES*, HXRES*, KSEAF, KAMF,
  NAS algorithm keys) and the serving network name.
- :mod:`.subscription`: dynsub's own derivation of the long-term key K after onboarding, and
  the key confirmation MAC the UE proves it with.
- :mod:`.milenage`: the MILENAGE functions f1..f5* of TS 35.206.
- :mod:`.aka`: 5G AKA on top of Milenage: authentication vectors, AUTN check, AUTS, SQN.
- :mod:`.ecies` and :mod:`.suci`: SUPI concealment (TS 33.501 Annex C, TS 23.003 2.2B).
- :mod:`.algorithms` and :mod:`.nas`: 128-NEA2/128-NIA2 and the NAS security context.
"""
