"""OSCaR-looking identifiers: 26-char ULID ``global_id`` and ``abcd-1234`` slugs.

Both draw from a caller-supplied RNG so seeded runs mint the same ids.
"""

from __future__ import annotations

import random
import string

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(millis: int, rng: random.Random) -> str:
    """A ULID: 48-bit millisecond time then 80 random bits, Crockford base32."""
    value = ((millis & ((1 << 48) - 1)) << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def slug(rng: random.Random, number: int) -> str:
    letters = "".join(rng.choices(string.ascii_lowercase, k=rng.choice((3, 4))))
    return f"{letters}-{number}"


def uuid_from(rng: random.Random) -> str:
    """A version-4-shaped uuid string from the seeded RNG (uuid4() would not repeat)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
