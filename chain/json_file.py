"""Reading configuration files that must hold one JSON object, with errors that say what is wrong."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_object(path: str | Path, error: type[Exception], what: str) -> dict[str, Any]:
    """The JSON object in a file, or `error` saying it is missing, not JSON, or not an object."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise error(f"no {what} at {file}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{file} must hold a JSON object")
    return data
