"""The small interface every exporter implements (one module per format)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from threatline.model.architecture import Architecture
from threatline.model.threatmodel import ThreatModel


class Exporter(ABC):
    """Turns a threat model (and the architecture it came from) into text."""

    name: str
    suffix: str

    @abstractmethod
    def render(self, model: ThreatModel, arch: Architecture) -> str:
        raise NotImplementedError
