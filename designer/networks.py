"""Client networks: the address a request came from, reduced to its network.

Opens, clicks and login attempts are kept or counted by network, not by the
client's own address: IPv4 /24, IPv6 /48 (the prefix one household or office
gets).
"""

import functools
import ipaddress


@functools.lru_cache(maxsize=4096)
def client_network(client_ip):
    """The client's network, not the client: ``203.0.113.0/24``; ``""`` for no address."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
