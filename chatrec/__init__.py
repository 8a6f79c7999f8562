"""chatrec: an offline conversational recommender."""
from .config import Config
from .dialogue import ChatSession, Recommender

__all__ = ["Config", "Recommender", "ChatSession"]
__version__ = "0.1.0"
