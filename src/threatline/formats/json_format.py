"""JSON output: the machine contract (docs/format.md, 'Threat model output')."""

from __future__ import annotations

from collections.abc import Iterator

from threatline.formats.interface import Exporter
from threatline.model.architecture import Architecture
from threatline.model.threatmodel import ThreatModel


class JsonExporter(Exporter):
    name = "json"
    suffix = ".json"

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        return model.model_dump_json(indent=2) + "\n"

    def render_chunks(self, model: ThreatModel, arch: Architecture) -> Iterator[bytes]:
        # The serializer's own bytes: exactly what render() decodes, without the str copies.
        yield model.__pydantic_serializer__.to_json(model, indent=2)
        yield b"\n"
