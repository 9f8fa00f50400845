"""threatmodel.yaml: the working document that review decisions are added to."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from threatline.formats.interface import Exporter
from threatline.formats.yamlio import dump_yaml, load_yaml_file
from threatline.model.architecture import Architecture
from threatline.model.diagnostics import Diagnostic, InputError, format_path
from threatline.model.threatmodel import ThreatModel

HEADER = (
    "# Threat model drafted by Threatline. Review decisions are recorded in this file;\n"
    "# re-running 'threatline draft' keeps them attached to the stable threat ids.\n"
)


class YamlExporter(Exporter):
    name = "yaml"
    suffix = ".yaml"

    def render(self, model: ThreatModel, arch: Architecture) -> str:
        return HEADER + dump_yaml(model.model_dump(mode="json"))


# Threat models are Threatline's own output and grow with the system; they get a
# larger ceiling than hand-written architecture files.
MODEL_MAX_BYTES = 2 * 1024 * 1024 * 1024


def load_threat_model(path: Path) -> ThreatModel:
    data, locator = load_yaml_file(path, max_bytes=MODEL_MAX_BYTES)
    try:
        return ThreatModel.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            line, col = locator.locate(tuple(err["loc"]))
            errors.append(Diagnostic(file=str(path), line=line, column=col, key=format_path(tuple(err["loc"])),
                                     message=err["msg"], hint="is this a threatmodel.yaml written by 'threatline draft'?"))
        raise InputError(errors) from None
