"""Errors a user can act on. Each message says what is wrong and what to do about it."""


class ChatrecError(Exception):
    """Base class: the message is shown to the user as it is."""


class CatalogError(ChatrecError):
    pass


class IndexNotReady(ChatrecError):
    pass


class StoreError(ChatrecError):
    pass


class LLMError(ChatrecError):
    pass


class InputError(ChatrecError):
    """Bad input at a boundary (web API, CLI, JSON): the message names the field and what it accepts."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
