"""Griffe extension for the API reference pages: render what readers should see.

- A parameter default naming a vocabulary constant (``base_url: str = v.DEFAULT_BASE_URL``)
  shows its value (``'https://engine.udt-stream.com'``): ``v`` is the private
  ``utd_trio._protocol._vocab`` and means nothing to a reader.
- Sphinx roles left in docstrings (``:meth:`now```, ``:class:`~pkg._mod.Name```) render as
  code (``now``, ``Name``) instead of raw role text; the ``~`` form keeps the last name only,
  so private module paths do not show.

The source stays as it is; this runs only while mkdocs builds. Configured in mkdocs.yml.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

from utd_trio._protocol import _vocab

_ROLE = re.compile(r":(?:py:)?(?:data|meth|class|func|attr|mod|exc|obj|const):`(~?)([^`]+)`")


def _role_as_code(match: re.Match[str]) -> str:
    short, target = match[1], match[2].strip()
    if short or "._" in target:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


class ApiReference(griffe.Extension):
    """Vocabulary defaults as values; Sphinx roles as Markdown code."""

    def on_function(self, *, func: griffe.Function, **kwargs: Any) -> None:
        """Rewrite ``v.NAME`` defaults of one function once the object tree is complete."""
        for parameter in func.parameters:
            default = str(parameter.default) if parameter.default is not None else ""
            name = default.removeprefix("v.")
            if name != default and hasattr(_vocab, name):
                parameter.default = repr(getattr(_vocab, name))

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Turn the Sphinx roles of one object's docstring into Markdown code."""
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_role_as_code, obj.docstring.value)
