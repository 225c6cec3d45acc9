"""In a browser (Debian's chromium, driven by Playwright): a person opens the explorer, signs in at
the development identity provider with authorization code and PKCE, and executes a call with the
token the explorer obtained. Skipped only where /usr/bin/chromium is absent (``make install``
installs it where apt-get can)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from tests.conftest import AppCache
from tests.gateway.conftest import BROWSER_GUARD_MS, CHROMIUM, CHROMIUM_ARGS, MakeRig, served_with_provider

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed: `apt-get install chromium`"
)


async def test_a_person_signs_in_through_the_explorer_and_executes_a_call(
    make_rig: MakeRig, app_cache: AppCache, tmp_path: Path
) -> None:
    async with (
        served_with_provider(make_rig, app_cache, tmp_path) as (_, gateway_url),
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(BROWSER_GUARD_MS)
            requested: list[str] = []
            page.context.on("request", lambda request: requested.append(request.url))
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            await page.goto(f"{gateway_url}/docs")
            await page.locator(".btn.authorize").first.click()
            sign_in = page.locator(".auth-container").filter(has_text="SignIn")
            async with page.expect_popup() as opened:
                assert await sign_in.locator("input[data-name=clientId]").input_value() == "iv-explorer"
                await sign_in.locator("button.authorize").click()
            popup = await opened.value
            await popup.locator("input[name=sub]").fill("u-browser")
            await popup.locator("input[name=roles][value=admin]").check()
            # The popup hands the code to the explorer and closes itself, perhaps before a wait
            # begun after the click would have seen it: wait for it around the click.
            async with popup.expect_event("close"):
                await popup.get_by_role("button", name="Aanmelden").click()
            try:
                await sign_in.get_by_text("Authorized", exact=True).wait_for()
            except PlaywrightError as exc:
                errors = await sign_in.locator(".errors").all_inner_texts()
                raise AssertionError(f"not signed in: {errors} {console}") from exc
            await page.locator(".close-modal").click()

            operation = page.locator(".opblock-get").filter(
                has=page.locator(".opblock-summary-path[data-path='/valuechains/v1/chains']")
            )
            await operation.first.locator(".opblock-summary").click()
            await operation.first.get_by_role("button", name="Execute").click()
            status = operation.first.locator(".live-responses-table .response .response-col_status")
            await status.first.wait_for()
            assert (await status.first.inner_text()).strip() == "200"
        finally:
            await browser.close()
    assert any("/authorize?" in url and "code_challenge_method=S256" in url for url in requested)
    assert not any("access_token" in url for url in requested), "the token never travels in a URL"
