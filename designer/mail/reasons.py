"""What a remote mail server said, cut down to a short reason fit to show people.

A server's answer ends up in flash messages, on message pages and in the API.
It is the other side's text: it may be long, binary, full of control
characters, or the banner of some other service. Only a bounded line of
printable ASCII goes on (accents are dropped, not the letters they sit on).
"""

import re
import unicodedata

#: Enough for an SMTP code, an enhanced status and a few words.
MAX_LENGTH = 160
#: Terminal escape sequences (colours, screen clearing): dropped whole, not half.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def cleaned(text, limit=MAX_LENGTH):
    """``text`` (str or bytes) as one line of printable ASCII, at most ``limit`` characters."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = ESCAPES.sub(" ", str(text))
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(char if " " <= char <= "~" else " " for char in ascii_text)
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."
