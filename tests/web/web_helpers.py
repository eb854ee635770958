"""Small helpers shared by the review room tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


def login(client: httpx.Client, name: str, password: str) -> str:
    """Log ``client`` in through the login form; returns the session's CSRF token."""
    client.get("/login")
    token = client.cookies.get("ph_csrf")
    assert token
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf(client)


def csrf(client: httpx.Client) -> str:
    """The CSRF token of the client's session."""
    r = client.get("/api/session")
    assert r.status_code == 200, r.text
    token: str = r.json()["csrf"]
    return token


def post_note(client: httpx.Client, token: str, frame: int, text: str, **extra: Any) -> httpx.Response:
    """Post a note on reel1 v1."""
    return client.post(
        "/api/cuts/reel1/1/notes",
        json={"frame": frame, "text": text, **extra},
        headers={"X-CSRF-Token": token},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A uvicorn server running an app on loopback in a thread."""

    app: FastAPI
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            limit_concurrency=1000,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
