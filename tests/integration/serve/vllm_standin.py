"""A stand-in for a vLLM server's runtime LoRA API, on 127.0.0.1, for tests only.

It answers like vLLM's OpenAI server started with --enable-lora and
VLLM_ALLOW_RUNTIME_LORA_UPDATING=True: POST /v1/load_lora_adapter {"lora_name", "lora_path"}
and POST /v1/unload_lora_adapter {"lora_name"} answer 200 with a plain-text "Success: ..."
line, or an error object {"object": "error", "message", "type", "param", "code"}; GET
/v1/models lists the base and every loaded adapter (root = its path, parent = the base).
It records every call, in order, and can be told to fail loads.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE = "tiny-base"


class VllmStandIn:
    def __init__(self) -> None:
        self.adapters: dict[str, str] = {}  # lora_name → lora_path
        self.calls: list[tuple[str, str]] = []  # (load | unload | models, lora_name or "")
        self.fail_loads = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> VllmStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    return self._error(404, "Not Found", "NotFoundError")
                standin.calls.append(("models", ""))
                now = int(time.time())
                data = [
                    {
                        "id": BASE,
                        "object": "model",
                        "created": now,
                        "owned_by": "vllm",
                        "root": BASE,
                        "parent": None,
                        "max_model_len": 1024,
                    }
                ]
                data += [
                    {
                        "id": name,
                        "object": "model",
                        "created": now,
                        "owned_by": "vllm",
                        "root": path,
                        "parent": BASE,
                        "max_model_len": 1024,
                    }
                    for name, path in standin.adapters.items()
                ]
                self._json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                name = body.get("lora_name")
                if self.path == "/v1/load_lora_adapter":
                    standin.calls.append(("load", name))
                    path = body.get("lora_path")
                    if not name or not path:
                        return self._error(
                            400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput"
                        )
                    if name in standin.adapters:
                        return self._error(
                            400, f"The lora adapter '{name}' has already been loaded.", "InvalidUserInput"
                        )
                    if standin.fail_loads or not (Path(path) / "adapter_config.json").is_file():
                        return self._error(
                            400, f"Loading lora {name} failed: No adapter found for {path}", "BadRequestError"
                        )
                    standin.adapters[name] = path
                    return self._text(f"Success: LoRA adapter '{name}' added successfully.")
                if self.path == "/v1/unload_lora_adapter":
                    standin.calls.append(("unload", name))
                    if name not in standin.adapters:
                        return self._error(404, f"The lora adapter '{name}' cannot be found.", "NotFoundError")
                    del standin.adapters[name]
                    return self._text(f"Success: LoRA adapter '{name}' removed successfully.")
                self._error(404, "Not Found", "NotFoundError")

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _text(self, text: str) -> None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, kind: str) -> None:
                self._json(status, {"object": "error", "message": message, "type": kind, "param": None, "code": status})

        return Handler
