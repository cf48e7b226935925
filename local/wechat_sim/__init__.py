"""A WeChat server-API simulator with WeChat's semantics, for running and testing without WeChat."""

from .app import create_app
from .config import SimConfig
from .state import SimState

__all__ = ["SimConfig", "SimState", "create_app"]
