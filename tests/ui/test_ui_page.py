"""The page at / and the UI's static files, over HTTP without a browser: the boot document
(tenants, statistics' formats) cannot be broken out of, and the vendored files are served."""

from __future__ import annotations

import json
import re

import httpx

from wallboard.db.database import open_database
from wallboard.settings import Settings
from wallboard.web.app import create_app
from wallboard.web.policy import AllowAll
from wallboard.web.tenant_init import Mode, init_tenant


async def test_the_page_carries_the_tenants_safely(migrated_sqlite_url: str) -> None:
    async with open_database(migrated_sqlite_url) as db:
        await init_tenant(db, "acme", Mode.SETUP, display_name="Acme </script><b>x</b>")
        await init_tenant(db, "beta", Mode.SETUP, display_name="Beta")
        app = create_app(Settings(), database=db, policy=AllowAll())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallboard") as client:
            page = await client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            match = re.search(
                r'<script type="application/json" id="wallboard-boot">(.*?)</script>', page.text
            )
            assert match is not None
            assert "</" not in match.group(1)
            boot = json.loads(match.group(1))
            assert boot["tenants"] == [
                {"id": "acme", "name": "Acme </script><b>x</b>"},
                {"id": "beta", "name": "Beta"},
            ]
            assert boot["statistics"]["queue.service_level"]["format"] == "percent"
            assert boot["user"] == "anonymous"  # the allow-all policy's user
            assert boot["policy"] == "allow-all"  # the UI asks for no login
            assert boot["oidc"] is False  # no single sign-on offered
            assert boot["statistics"]["agent.status"]["format"] == "status"

            for path in (
                "/ui/js/app.js",
                "/ui/app.css",
                "/ui/vendor/lit/index.js",
                "/ui/vendor/echarts/echarts.esm.min.js",
                "/ui/vendor/gridstack/gridstack-all.js",
            ):
                answer = await client.get(path)
                assert answer.status_code == 200, path
            assert (await client.get("/ui/nothing.js")).status_code == 404
            # Every import-map entry names a file that is served.
            imports = json.loads(
                re.search(r'<script type="importmap">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
            )["imports"]
            for name, target in imports.items():
                if not name.endswith("/"):
                    assert (await client.get(target)).status_code == 200, name
