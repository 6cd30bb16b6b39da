"""The baseline the protocol benchmarks share: a bare pyOpenSSL mutual TLS 1.3 context."""

from __future__ import annotations

from OpenSSL import SSL

from dynsub_cli.eap.credentials import Credentials


def context(credentials: Credentials) -> SSL.Context:
    """TLS 1.3 only, our certificate and chain, no resumption (every handshake a full one),
    as EAP-TLS in dynsub does."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
    ctx.use_certificate(credentials.certificate)
    ctx.use_privatekey(credentials.private_key)
    for intermediate in credentials.chain:
        ctx.add_extra_chain_cert(intermediate)
    ctx.set_options(SSL.OP_NO_TICKET)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    return ctx
