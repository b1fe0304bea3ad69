"""docker-compose.yml and the balancer's configuration, checked without Docker.

The file is validated against the Compose Specification's own JSON schema
(compose-spec.json here, from the compose-spec project, Apache-2.0), then against the
rules `docker compose config` adds (every service, network and volume a service names
exists) and against ours: every hub sits behind the balancer, trusts exactly it, and
the public URL is the balancer's. HAProxy itself checks deploy/haproxy.cfg.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # merges `<<:` keys
    assert isinstance(loaded, dict)
    return loaded


def hubs(services: dict[str, Any]) -> dict[str, Any]:
    return {
        name: service
        for name, service in services.items()
        if service.get("command", [])[:2] == ["switchboard", "serve"]
    }


def test_the_file_follows_the_compose_specification() -> None:
    errors = [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(compose())]
    assert errors == []


def test_a_mistyped_key_would_be_caught() -> None:
    broken = compose()
    broken["services"]["hub1"]["deppends_on"] = ["postgres"]
    assert not jsonschema.Draft7Validator(SCHEMA).is_valid(broken)


def test_everything_a_service_names_exists() -> None:
    spec = compose()
    services, networks, volumes = spec["services"], spec.get("networks", {}), spec["volumes"]
    published: list[str] = []
    for name, service in services.items():
        needs = service.get("depends_on", [])
        assert set(needs) <= set(services), name
        assert set(service.get("networks", [])) <= set(networks), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in volumes, name
            else:
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
        published += [str(port).split(":")[0] for port in service.get("ports", [])]
    assert len(published) == len(set(published)), "two services publish one host port"


def test_every_hub_is_behind_the_balancer_and_trusts_only_it() -> None:
    services = compose()["services"]
    balancer = services["balancer"]
    address = balancer["networks"]["hubs"]["ipv4_address"]
    env = balancer["environment"]
    running = hubs(services)
    assert len(running) >= 2
    targets = {value.split(":")[0] for key, value in env.items() if key.startswith("HUB")}
    assert targets == set(running)  # each hub balanced, and nothing else
    for name, hub in running.items():
        assert "ports" not in hub, f"{name} is reachable around the balancer"
        assert hub["environment"]["SWITCHBOARD_TRUSTED_PROXIES"] == address
        assert {f"{name}:8080", f"{name}:2525"} <= set(env.values())  # HTTP and SMTP
    public = running["hub1"]["environment"]["SWITCHBOARD_PUBLIC_URL"]
    port = re.search(r":(\d+)}?$", public)
    assert port is not None
    assert f"{port.group(1)}:8080" in balancer["ports"]
    assert "2525:2525" in balancer["ports"]


def test_the_balancer_configuration_is_valid_for_haproxy() -> None:
    """The same file compose mounts, with each hub on a local address (the compose
    names only resolve inside its network)."""
    env = compose()["services"]["balancer"]["environment"]
    local = {key: re.sub(r"^[\w.-]+:", "127.0.0.1:", value) for key, value in env.items()}
    servers = re.findall(
        r'^\s*server \w+ "\$\{(\w+)\}"', (ROOT / "deploy/haproxy.cfg").read_text(), re.M
    )
    assert set(servers) == {key for key in env if key.startswith("HUB")}
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(ROOT / "deploy/haproxy.cfg")],
        env={**os.environ, **local},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration file is valid" in checked.stdout
