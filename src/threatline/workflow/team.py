"""People, roles and the limits of what each may decide (from threatline.toml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from threatline.model.threatmodel import SEVERITY_ORDER, Severity

Role = Literal["author", "security", "architect", "risk-owner"]
ROLES: list[str] = ["author", "security", "architect", "risk-owner"]

DEFAULT_MAX_MONTHS: dict[str, int] = {"critical": 1, "high": 3, "medium": 6, "low": 12}


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3)
    name: str = ""
    roles: list[Role] = Field(min_length=1)
    # The highest severity band this risk owner may accept.
    max_accept: Severity | None = None


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appetite: Severity = "medium"
    acceptance_months: dict[Severity, int] = Field(default_factory=lambda: dict(DEFAULT_MAX_MONTHS))
    members: list[Member] = Field(default_factory=list)

    @field_validator("acceptance_months")
    @classmethod
    def _complete(cls, value: dict[str, int]) -> dict[str, int]:
        merged = {**DEFAULT_MAX_MONTHS, **value}
        for sev, months in merged.items():
            if months < 0:
                raise ValueError(f"acceptance_months.{sev} must be >= 0")
        return merged

    def member(self, email: str) -> Member | None:
        wanted = email.strip().lower()
        return next((m for m in self.members if m.email.lower() == wanted), None)

    def may_accept(self, member: Member, severity: str) -> bool:
        if "risk-owner" not in member.roles:
            return False
        ceiling = member.max_accept or "medium"
        return SEVERITY_ORDER.index(severity) <= SEVERITY_ORDER.index(ceiling)
