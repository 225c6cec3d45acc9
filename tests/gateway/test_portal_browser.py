"""The portal in a browser (Debian's chromium, driven by Playwright): a chain owner signs in at the
development identity provider (authorization code with PKCE), Mijn keten shows the API's figures
for that person and how many applications it does not show; with clearance the same owner sees
them; Tab reaches every link and button. Screenshots go to var/test-artefacts/portal/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import AppCache
from tests.gateway.conftest import (
    BROWSER_GUARD_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MakeRig,
    dev_provider,
    gateway_socket,
    served_on_this_loop,
)
from tests.gateway.portal_world import OWNER, make_portal_world, make_portfolio_world, owner_headers
from tests.support import Tokens, served

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed: `apt-get install chromium`"
)
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "portal"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(page: Page, gateway_url: str, clearance: str) -> None:
    await page.goto(f"{gateway_url}/portal/keten")
    await page.locator("input[name=sub]").fill(OWNER)
    await page.locator("input[name=roles][value=chain_owner]").check()
    await page.locator("select[name=clearance]").select_option(clearance)
    await page.get_by_role("button", name="Aanmelden").click()
    await page.wait_for_url(f"{gateway_url}/portal/keten")


async def tab_reaches_every_action(page: Page) -> None:
    """Tab from the top reaches every link and button on the page."""
    actions = await page.locator("a[href], button").count()
    reached: set[str] = set()
    for _ in range(actions + 2):
        await page.keyboard.press("Tab")
        reached.add(await page.evaluate("document.activeElement.outerHTML"))
    everything = set(await page.locator("a[href], button").evaluate_all("els => els.map(e => e.outerHTML)"))
    assert everything <= reached, everything - reached


async def test_a_chain_owner_signs_in_and_sees_the_apis_figures(
    make_rig: MakeRig, app_cache: AppCache, tokens: Tokens, browser: Browser, tmp_path: Path
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    bound = gateway_socket()
    gateway_url, issuer = bound.url, bound.issuer
    # The provider signs with the worker's development key ring, for the issuer the services
    # behind the gateway accept; the gateway itself verifies through the provider's JWKS.
    provider = dev_provider(app_cache, tmp_path, issuer, portal_redirect_uris=[f"{gateway_url}/portal/aanmelden/terug"])
    with served(provider) as provider_url:
        # The browser reaches the provider on its port; the gateway exchanges the code in-process
        # (as in compose, where the two reach it by different addresses).
        settings = {
            "jwks_url": f"{provider_url}/jwks.json",
            "jwt_issuer": issuer,
            "portal_authorization_url": f"{provider_url}/authorize",
            "portal_token_url": "http://issuer.test/token",
        }
        async with make_rig(**settings) as rig, served_on_this_loop(rig.app, bound.sock):
            rig.transport.add("issuer.test", provider)
            world = await make_portal_world(rig, tokens)
            async with rig.client(owner_headers(tokens)) as api:
                staffing = (
                    await api.get("/valuechains/v1/reports/staffing", params={"chain": world.chain["href"]})
                ).json()
            share = f"{staffing['chains'][0]['external_share']:.1f}".replace(".", ",")

            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(BROWSER_GUARD_MS)
            requested: list[str] = []
            context.on("request", lambda request: requested.append(request.url))
            await sign_in(page, gateway_url, "internal")
            cookie = next(c for c in await context.cookies() if c["name"] == "iv_portal_session")
            assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
            assert (await page.locator("[data-figure=external_share]").inner_text()).startswith(share)
            assert await page.locator("[data-not-shown-of=applicaties]").get_attribute("data-not-shown") == "1"
            uncleared_rows = await page.locator("tr[data-application]").count()
            await page.screenshot(path=str(ARTEFACTS / "mijn-keten-internal.png"), full_page=True)

            await tab_reaches_every_action(page)

            await context.close()
            # The same owner with clearance, in a browser of their own.
            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(BROWSER_GUARD_MS)
            await sign_in(page, gateway_url, "confidential")
            assert await page.locator("[data-not-shown-of=applicaties]").get_attribute("data-not-shown") == "0"
            assert await page.locator("tr[data-application]").count() == uncleared_rows + 1
            await page.screenshot(path=str(ARTEFACTS / "mijn-keten-confidential.png"), full_page=True)
            await context.close()
    assert any("/authorize?" in url and "code_challenge_method=S256" in url for url in requested)
    assert not any("access_token" in url or "code_verifier" in url for url in requested)


async def test_portfolio_and_audit_render_with_the_apis_ratio_and_signing_out_ends_the_session(
    make_rig: MakeRig, app_cache: AppCache, tokens: Tokens, browser: Browser, tmp_path: Path
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    bound = gateway_socket()
    gateway_url, issuer = bound.url, bound.issuer
    provider = dev_provider(app_cache, tmp_path, issuer, portal_redirect_uris=[f"{gateway_url}/portal/aanmelden/terug"])
    with served(provider) as provider_url:
        settings = {
            "jwks_url": f"{provider_url}/jwks.json",
            "jwt_issuer": issuer,
            "portal_authorization_url": f"{provider_url}/authorize",
            "portal_token_url": "http://issuer.test/token",
        }
        async with make_rig(**settings) as rig, served_on_this_loop(rig.app, bound.sock):
            rig.transport.add("issuer.test", provider)
            world = await make_portfolio_world(rig, tokens)
            async with rig.client(tokens("portfolio_manager", sub="u-portal-pm")) as api:
                report = await api.get("/portfolio/v1/reports/ratio", params={"round": world.current["href"]})
            ratio = report.json()["overall"]["ratio"]
            shown = f"{ratio['run']:.1f} : {ratio['renewal']:.1f}".replace(".", ",")

            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(BROWSER_GUARD_MS)
            await page.goto(f"{gateway_url}/portal/portfolio")
            await page.locator("input[name=sub]").fill("u-portal-pm")
            for role in ("portfolio_manager", "auditor"):
                await page.locator(f"input[name=roles][value={role}]").check()
            await page.get_by_role("button", name="Aanmelden").click()
            await page.wait_for_url(f"{gateway_url}/portal/portfolio")
            assert await page.locator("[data-figure=ratio]").inner_text() == shown
            assert await page.locator("figure svg[role=img]").count() == 1
            await page.screenshot(path=str(ARTEFACTS / "portfolio.png"), full_page=True)
            await tab_reaches_every_action(page)

            await page.goto(f"{gateway_url}/portal/audit")
            assert await page.locator("[data-verify=ok]").count() == 3
            await page.screenshot(path=str(ARTEFACTS / "audit.png"), full_page=True)
            await tab_reaches_every_action(page)

            await page.get_by_role("button", name="Afmelden").focus()
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"{gateway_url}/portal/?afgemeld=1")
            assert await page.get_by_role("status").inner_text() == "U bent afgemeld."
            assert not [c for c in await context.cookies() if c["name"] == "iv_portal_session"]
            await context.close()
