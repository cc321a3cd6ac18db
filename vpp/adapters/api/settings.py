"""Settings of the operator API: the rate limits per key on its write routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from vpp.application.rate_limits import RateLimit

#: dispatch routes (send, cancel): a trader's client rarely sends more than one a second;
#: the burst lets a client catch up after a pause (and the test suites run unthrottled)
DEFAULT_DISPATCH_LIMIT = RateLimit(rate_per_s=10.0, burst=200)
#: admin routes (keys, sites, gateways, DERs, plants, tenants): registering a fleet one DER
#: per request goes at 20 a second; a whole fleet in one request is ``/v1/admin/registry``
DEFAULT_ADMIN_LIMIT = RateLimit(rate_per_s=20.0, burst=200)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Per-key token buckets: ``dispatch`` for the dispatch routes, ``admin`` for the
    admin routes (tenant creation included).  Reads are not limited."""

    dispatch: RateLimit = field(default=DEFAULT_DISPATCH_LIMIT)
    admin: RateLimit = field(default=DEFAULT_ADMIN_LIMIT)
