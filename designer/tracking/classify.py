"""Classifying a hit on the pixel or a tracked link: a person, or a machine?

- **privacy_proxy**: Apple Mail Privacy Protection loads every image when the
  mail arrives, from Apple's network (17.0.0.0/8) with a generic user agent;
  such an open says nothing about the person.
- **scanner**: security gateways and link checkers (known user agents), and
  HEAD requests.
- **prefetch**: any hit within seconds of delivery — no person is that fast.
- **human**: everything else. The raw count stays what CRM users know;
  the human count is the honest one beside it.
"""

import functools
import ipaddress
import re

APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
SCANNER_AGENTS = re.compile(
    r"barracuda|proofpoint|mimecast|symantec|messagelabs|forcepoint|trendmicro|sophos|"
    r"fortinet|fortiguard|cisco|ironport|zscaler|safelinks|microsoft office protection|"
    r"bitdefender|kaspersky|avast|mcafee|checkpoint|python-requests|curl/|wget/|"
    r"go-http-client|libwww|bot\b|crawler|spider|headlesschrome|scanner",
    re.IGNORECASE,
)
#: Hits sooner than this after the message was sent are machines.
PREFETCH_SECONDS = 10


def classify(*, method="GET", user_agent="", client_ip="", seconds_after_send=None):
    """``human``, ``privacy_proxy``, ``scanner`` or ``prefetch``."""
    if method.upper() == "HEAD" or _scanner_agent(user_agent or ""):
        return "scanner"
    if _from_apple(client_ip):
        return "privacy_proxy"
    if seconds_after_send is not None and seconds_after_send < PREFETCH_SECONDS:
        return "prefetch"
    return "human"


@functools.lru_cache(maxsize=4096)  # hits come in bursts from few agents and networks
def _scanner_agent(user_agent):
    return SCANNER_AGENTS.search(user_agent) is not None


@functools.lru_cache(maxsize=4096)
def _from_apple(client_ip):
    try:
        return ipaddress.ip_address(client_ip) in APPLE_NETWORK
    except ValueError:
        return False
