"""Networks and places of client addresses: the /24 or /64 an address belongs to, and where it is.

Residential proxies hand a stuffing run thousands of addresses, but they come from far fewer
networks, and a customer's home or carrier network stays the same while the address within it
changes; so failures and familiarity are also counted per network.
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shopshield.core.errors import BadConfiguration, InvalidInput


class InvalidAddress(InvalidInput, ValueError):
    """Not an IPv4 or IPv6 address (the message never repeats it)."""


@lru_cache(maxsize=65_536)
def network_of(ip: str) -> str:
    """The address's /24 (IPv4) or /64 (IPv6), as text; an IPv4-mapped IPv6 address counts as IPv4."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise InvalidAddress("ip: not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    name: str

    def km_to(self, other: Place) -> float:
        """Great-circle distance (haversine, mean Earth radius)."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


class LocationError(BadConfiguration, ValueError):
    """The location file cannot be read; the message names the file and line."""


class Locations:
    """Where addresses are, from a CSV of ``network,lat,lon,name`` rows (a GeoIP export, or a
    store's own list of its carriers' and offices' networks). Lookups bisect sorted ranges."""

    def __init__(self, ranges: list[tuple[int, int, int, Place]]) -> None:
        # (version, first, last, place). Ranges must not overlap, as in a GeoIP export; then the
        # only candidate for an address is the last range that starts at or before it.
        self._ranges = sorted(ranges, key=lambda r: (r[0], r[1]))
        for before, after in zip(self._ranges, self._ranges[1:], strict=False):
            if before[0] == after[0] and after[1] <= before[2]:
                raise LocationError("location ranges overlap; list each address in one network only")
        self._starts = [(r[0], r[1]) for r in self._ranges]

    @classmethod
    def load(cls, path: Path) -> Locations:
        ranges: list[tuple[int, int, int, Place]] = []
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                for number, row in enumerate(csv.reader(handle), start=1):
                    if not row or row[0].startswith("#") or (number == 1 and row[0] == "network"):
                        continue
                    if len(row) < 3:
                        raise LocationError(f"{path}:{number}: expected network,lat,lon[,name]")
                    try:
                        net = ipaddress.ip_network(row[0].strip(), strict=False)
                        place = Place(float(row[1]), float(row[2]), row[3].strip() if len(row) > 3 else "")
                    except ValueError:
                        raise LocationError(f"{path}:{number}: not a network and coordinates") from None
                    if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):
                        raise LocationError(f"{path}:{number}: coordinates out of range")
                    ranges.append((net.version, int(net.network_address), int(net.broadcast_address), place))
        except OSError as exc:
            raise LocationError(f"{path}: {exc.strerror}") from None
        return cls(ranges)

    def place(self, ip: str) -> Place | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        key = (address.version, int(address))
        i = bisect.bisect_right(self._starts, key) - 1
        if i < 0:
            return None
        version, _first, last, place = self._ranges[i]
        return place if version == address.version and key[1] <= last else None
