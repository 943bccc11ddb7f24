"""A JSON request to an OpenAI-style server, as `sync` (vLLM's LoRA admin routes) and `verify`
(chat completions) send it: the standard library only, with the Bearer key when one is set."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def json_request(url: str, method: str, body: dict[str, Any] | None, api_key: str | None) -> urllib.request.Request:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    return request
