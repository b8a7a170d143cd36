"""docker-compose.yml runs the proxy the tests start: the same configuration file, every value it
needs, and the API reachable only through it, trusting only its X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from typing import Any

import yaml

from tests.deploy.servers import NGINX_TEMPLATE, ROOT, render_nginx_config


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def test_the_proxy_service_mounts_the_tested_configuration_with_all_its_values() -> None:
    proxy = services()["proxy"]
    assert proxy["image"].startswith("nginx:")
    sources = {(ROOT / volume.split(":")[0]).resolve(): volume.split(":")[1]
               for volume in proxy["volumes"]}
    target = sources[NGINX_TEMPLATE.resolve()]
    # The official image renders /etc/nginx/templates/X.template into the output dir as X.
    assert target == "/etc/nginx/templates/nginx.conf.template"
    assert proxy["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    # Without the filter the image would fill any $name the environment defines, nginx's own
    # variables included.
    assert proxy["environment"]["NGINX_ENVSUBST_FILTER"] == "PROXY_"
    values = {k: str(v) for k, v in proxy["environment"].items() if k.startswith("PROXY_")}
    assert "proxy_pass http://cityid;" in render_nginx_config(values)


def test_the_api_is_reached_only_through_the_proxy_it_trusts() -> None:
    compose = services()
    api, proxy = compose["api"], compose["proxy"]
    assert "ports" not in api
    assert proxy["environment"]["PROXY_UPSTREAM"] == f"api:{api['expose'][0]}"
    proxy_address = ipaddress.ip_address(proxy["networks"]["default"]["ipv4_address"])
    trusted = [ipaddress.ip_network(n) for n in
               str(api["environment"]["CITYID_TRUSTED_PROXIES"]).split(",")]
    assert [proxy_address in network for network in trusted] == [True]

