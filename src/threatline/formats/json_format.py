"""JSON output: the machine contract (docs/format.md, 'Threat model output')."""

from __future__ import annotations

import json

from threatline.formats.interface import Exporter
from threatline.model.architecture import Architecture
from threatline.model.threatmodel import ThreatModel


class JsonExporter(Exporter):
    name = "json"
    suffix = ".json"

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        return json.dumps(model.model_dump(mode="json"), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
