"""Where tracking is switched off: by template, by campaign, and by the recipient's
language or country (some markets expect no open or click tracking at all).

Mail reads it when it builds a message (tracked links and the open pixel or
plain ones); the administrators set the languages and countries under
Settings → Tracking.
"""

from designer import settings

POLICY_KEY = "tracking"


def tracking_policy():
    stored = settings.get_setting(POLICY_KEY, {}) or {}
    return {
        "off_languages": list(stored.get("off_languages", [])),
        "off_countries": list(stored.get("off_countries", [])),
    }


def set_tracking_policy(off_languages=(), off_countries=()):
    """Store the languages (``de``) and countries (``Germany``) that get no tracking."""
    settings.set_setting(
        POLICY_KEY,
        {
            "off_languages": sorted({v.strip().lower() for v in off_languages if v.strip()}),
            "off_countries": sorted({v.strip().lower() for v in off_countries if v.strip()}),
        },
    )


def tracking_allowed(language, country, policy=None):
    """False when the recipient's language or country has tracking switched off."""
    policy = policy or tracking_policy()
    if (language or "").lower() in policy["off_languages"]:
        return False
    return (country or "").strip().lower() not in policy["off_countries"]
