"""Who is asking: user and conversation ids the server signs, so a browser can hold them but not forge them.

A token is `v1.<namespace>.<fields...>.<signature>`: the fields are base64url text, the signature an HMAC-SHA256
(truncated to 128 bits) over everything before it, keyed by a server-side secret that is never sent to a client
(`Config.identity_key`, or a random key generated once into `identity_key` beside the profile database, mode 600).

Namespaces keep the kinds apart, so no token works where another kind is expected:

- `web`: a web user `[user id]` (what the browser keeps in localStorage to come back as the same person) or a web
  conversation `[user id, conversation id]` (what one tab, or one API client, holds);
- `link`: `chatrec profile link --user ID` hands a CLI user to the web, `[user id, expiry]`, valid 15 minutes;
  only the page's "link" step accepts it.

Web user ids are `w_` + 16 random bytes. CLI user ids are whatever `--user` says, minus that prefix: a web id
cannot be used from the CLI's chat, and a CLI id reaches the web only through a signed link.

Nothing here imports Gradio.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from chatrec.config import Config

VERSION = "v1"
WEB, LINK = "web", "link"
WEB_PREFIX = "w_"
LINK_TTL_S = 15 * 60
MAX_TOKEN = 512  # longer strings are not looked at


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def new_web_user() -> str:
    return WEB_PREFIX + secrets.token_urlsafe(16)


def new_conversation() -> str:
    return "c_" + secrets.token_urlsafe(16)


def is_web_user(user_id: str) -> bool:
    return isinstance(user_id, str) and user_id.startswith(WEB_PREFIX)


@dataclass
class Identity:
    """What a verified web token says: the user, and the conversation when it names one."""
    user_id: str
    conversation_id: str | None = None


class Signer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the identity key must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:  # never the key
        return "Signer(<key hidden>)"

    @classmethod
    def from_config(cls, config: Config) -> "Signer":
        return cls(identity_key(config))

    def sign(self, namespace: str, *fields: str) -> str:
        body = ".".join([VERSION, namespace, *(_b64(f) for f in fields)])
        return f"{body}.{self._mac(body)}"

    def verify(self, token, namespace: str) -> list[str] | None:
        """The fields of a token this server signed for `namespace`; None for anything else (missing, unsigned,
        tampered, another namespace, another server's key, not a string)."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            return None
        body, _, mac = token.rpartition(".")
        parts = body.split(".")
        if len(parts) < 3 or parts[0] != VERSION or parts[1] != namespace:
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            return [_unb64(p) for p in parts[2:]]
        except (ValueError, UnicodeDecodeError):
            return None

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # ------------------------------------------------------------ the token kinds
    def web_user(self, user_id: str) -> str:
        return self.sign(WEB, user_id)

    def web_conversation(self, user_id: str, conversation_id: str) -> str:
        return self.sign(WEB, user_id, conversation_id)

    def read_web(self, token) -> Identity | None:
        fields = self.verify(token, WEB)
        if fields is None or len(fields) not in (1, 2):
            return None
        return Identity(fields[0], fields[1] if len(fields) == 2 else None)

    def link(self, user_id: str, ttl_s: int = LINK_TTL_S) -> str:
        return self.sign(LINK, user_id, str(int(time.time()) + ttl_s))

    def read_link(self, token) -> str | None:
        """The CLI user a link token hands over, or None (not a link, tampered, or expired)."""
        fields = self.verify(token, LINK)
        if fields is None or len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) < time.time():
            return None
        return fields[0]


def identity_key(config: Config) -> bytes:
    """`config.identity_key` when set, else a random key generated once into `identity_key` beside the profile
    database (mode 600), so ids stay valid across restarts. Replicas must share one: set CHATREC_IDENTITY_KEY on
    each, or share the data folder."""
    if config.identity_key:
        return config.identity_key.encode()
    # beside the SQLite file; with a server database, in the project's state folder
    db = config.profile_db
    folder = Path(db).parent if "://" not in db else Path(config.model_dir).parent / "state"
    path = folder / "identity_key"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:  # created exactly once, even when two replicas start together on one data folder
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                value = path.read_text().strip()
                if len(value) >= 32:
                    return value.encode()
                time.sleep(0.1)  # another process is writing it
            raise OSError(f"{path} holds no key")
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value.encode()
    except OSError:
        # no writable data folder: a per-process key (ids then last until the app restarts)
        return secrets.token_bytes(48)
