"""The collaborators of a request the gateway sends on its own account: settings, the pooled client, trusted hosts.

Credential resolvers, image downloads and guardrail checks receive an ``Outbound`` instead of the
whole gateway state, so they depend on exactly what they use.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.settings import Settings
from gateway.transport.client import UpstreamClient
from gateway.transport.ssrf import TrustedHosts


@dataclass(frozen=True)
class Outbound:
    """What an outbound call needs: timeouts and limits, the client that sends it, the hosts trusted."""

    settings: Settings
    client: UpstreamClient
    trusted: TrustedHosts
