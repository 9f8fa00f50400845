"""The small interface every exporter implements (one module per format)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from threatline.model.architecture import Architecture
from threatline.model.threatmodel import ThreatModel


class Exporter(ABC):
    """Turns a threat model (and the architecture it came from) into text."""

    name: str
    suffix: str

    @abstractmethod
    def render(self, model: ThreatModel, arch: Architecture) -> str:
        raise NotImplementedError

    def render_chunks(self, model: ThreatModel, arch: Architecture) -> Iterator[bytes]:
        """The same document as UTF-8 bytes, in pieces a stream can take one by one.

        At 10,000 components a document is hundreds of megabytes: encoding it whole would
        hold a second copy. Exporters that can produce bytes directly override this.
        """
        text = self.render(model, arch)
        step = 1 << 20
        for start in range(0, len(text), step):
            yield text[start:start + step].encode("utf-8")
