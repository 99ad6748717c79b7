"""The base of every configuration section."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic import ConfigDict


class Section(BaseModel):
    """A ``[section]`` of the configuration: unknown options are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
