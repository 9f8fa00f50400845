"""Who is acting: --as, else THREATLINE_USER, else `git config user.email`."""

from __future__ import annotations

import os
import subprocess


def current_identity(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit.strip()
    env = os.environ.get("THREATLINE_USER")
    if env:
        return env.strip()
    try:
        # Fixed argv, no shell and no user input: only reads the configured address.
        done = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    email = done.stdout.strip()
    return email or None
