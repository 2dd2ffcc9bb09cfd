"""Kith's shared protocol package: IDs, key material, wire schemas, sans-I/O cores."""

from kith_proto.ids import ID_LENGTH, InvalidIdError, format_id, parse_id
from kith_proto.keys import IdentityKeys, verify_signature, x25519_public_from_ed25519

__all__ = [
    "ID_LENGTH",
    "IdentityKeys",
    "InvalidIdError",
    "format_id",
    "parse_id",
    "verify_signature",
    "x25519_public_from_ed25519",
]
