"""Login: --login-users users, then --logins POST /auth/token with
--login-concurrency in flight (argon2 on the server)."""

from __future__ import annotations

import argparse
from typing import Any

from harness import loadgen, server
from report import failed, noisy, table

NAME = "login"
ROWS = False


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server("service", args) as srv:
        options = ["--logins", args.logins, "--users", args.login_users, "--concurrency", args.login_concurrency]
        return {"scenario": NAME, **loadgen(args, "login", srv, options)}


def markdown(login: dict[str, Any]) -> list[str]:
    columns = [
        ("logins", "logins"),
        ("concurrency", "concurrency"),
        ("logins_per_s", "logins/s"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
        ("max_ms", "max ms"),
        ("server_cpu_ms_per_login", "srv CPU ms/login"),
        ("statuses", "statuses"),
    ]
    return ["### Login storm (POST /auth/token)", table([login], columns)]


def warnings(r: dict[str, Any]) -> list[str]:
    if "error" in r:
        return failed(NAME, r)
    found = noisy(NAME, r)
    if r.get("errors"):
        found.append(f"{NAME}: errors={r.get('errors')}")
    return found
