"""JSON output: the machine contract (docs/format.md, 'Threat model output')."""

from __future__ import annotations

from threatline.formats.interface import Exporter
from threatline.model.architecture import Architecture
from threatline.model.threatmodel import ThreatModel


class JsonExporter(Exporter):
    name = "json"
    suffix = ".json"

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        return model.model_dump_json(indent=2) + "\n"
