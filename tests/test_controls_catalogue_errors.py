"""Errors in controls catalogues name where the clashing control is defined."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatline.formats.knowledge_packs import load_controls
from threatline.model.diagnostics import InputError

CONTROL = """\
  - id: {id}
    name: {id}
    description: A control.
    mitigates: [spoofing]
    placement: [component]
    effect: {{likelihood: 1}}
    cost: {{effort_days: [1, 2], latency: none, ops: low}}
{extra}"""


def _catalogue(path: Path, *controls: tuple[str, str]) -> Path:
    body = "".join(CONTROL.format(id=cid, extra=extra) for cid, extra in controls)
    path.write_text("# a catalogue\ncontrols:\n" + body, encoding="utf-8")
    return path


def test_a_control_defined_twice_in_bundled_files_names_the_first_definition(tmp_path):
    first = _catalogue(tmp_path / "controls.yaml", ("waf", ""), ("vault", ""))
    second = _catalogue(tmp_path / "controls-extra.yaml", ("vault", ""))
    with pytest.raises(InputError) as exc:
        load_controls([first, second], bundled=2)
    [error] = exc.value.diagnostics
    assert error.file == str(second) and error.line == 3 and error.key == "controls[0].id"
    assert error.message == "control 'vault' is already defined in controls.yaml:10"


def test_an_organisation_file_replaces_a_control_by_id(tmp_path):
    bundled = _catalogue(tmp_path / "controls.yaml", ("waf", ""))
    ours = _catalogue(tmp_path / "ours.yaml", ("waf", ""))
    controls, _ = load_controls([bundled, ours], bundled=1)
    assert list(controls) == ["waf"]


def test_an_alias_that_is_a_control_id_names_both_definitions(tmp_path):
    bundled = _catalogue(tmp_path / "controls.yaml", ("waf", ""), ("edge-filter", "    aliases: [waf]\n"))
    with pytest.raises(InputError) as exc:
        load_controls([bundled], bundled=1)
    [error] = exc.value.diagnostics
    assert error.file == "controls.yaml:10" and error.key == "edge-filter.aliases"
    assert error.message == "alias 'waf' is also a control id (defined at controls.yaml:3)"


def test_an_alias_of_two_controls_is_refused(tmp_path):
    bundled = _catalogue(tmp_path / "controls.yaml", ("waf", "    aliases: [filter]\n"),
                         ("edge-filter", "    aliases: [filter]\n"))
    with pytest.raises(InputError) as exc:
        load_controls([bundled], bundled=1)
    [error] = exc.value.diagnostics
    assert error.message == "alias 'filter' is also an alias of 'waf'"
