"""The UI's own modules run in the browser on their own: formats (N/A for missing, never 0;
durations from start times), thresholds, and a live view applying snapshots and changes."""

from __future__ import annotations

from playwright.async_api import expect

from browser import UiSession


async def run(ui: UiSession, body: str) -> object:
    await ui.open("/")
    await expect(ui.page.locator(".dashboard-card").first).to_be_visible()
    return await ui.page.evaluate(f"async () => {{ {body} }}")


async def test_formats(ui: UiSession) -> None:
    result = await run(
        ui,
        """
        const f = await import('/ui/js/format.js');
        const now = 1_700_000_000_000;
        return [
            f.formatValue(undefined, 'integer', now), f.formatValue(null, 'percent', now),
            f.formatValue(0, 'integer', now), f.formatValue(3723000, 'time', now),
            f.formatValue({since: now - 65000}, 'time', now), f.formatValue(87.25, 'percent', now),
            f.formatValue(12345, 'integer', now), f.formatValue(1.5, 'number', now),
            f.formatValue({state: 'not_ready', reason: 'Lunch', since: now - 3000}, 'status', now),
            f.formatValue(90000000, 'time', now), f.formatValue(NaN, 'number', now),
        ];
        """,
    )
    assert result == [
        "N/A",
        "N/A",
        "0",
        "01:02:03",
        "00:01:05",
        "87.3 %",
        "12,345",
        "1.5",
        "Not ready (Lunch) 00:00:03",
        "25:00:00",
        "N/A",
    ]


async def test_thresholds(ui: UiSession) -> None:
    result = await run(
        ui,
        """
        const { thresholdLevel } = await import('/ui/js/format.js');
        const above = {warning: 5, critical: 10};
        const below = {warning: 80, critical: 70, direction: 'below'};
        const now = 1_000_000;
        return [
            thresholdLevel(4, above), thresholdLevel(5, above), thresholdLevel(10, above),
            thresholdLevel(81, below), thresholdLevel(80, below), thresholdLevel(69.9, below),
            thresholdLevel(undefined, above), thresholdLevel(3, null),
            thresholdLevel({since: now - 11}, above, now),
        ];
        """,
    )
    assert result == [
        "ok",
        "warning",
        "critical",
        "ok",
        "warning",
        "critical",
        None,
        None,
        "critical",
    ]


async def test_a_live_view_drops_old_changes_and_notes_lateness(ui: UiSession) -> None:
    result = await run(
        ui,
        """
        const { LiveView } = await import('/ui/js/live.js');
        const view = new LiveView();
        view.applySnapshot({version: 5, values: [['queue', 'q', 'queue.calls_waiting', 3]]});
        const old = view.applyChanges({version: 5, changes: [['queue', 'q', 'queue.calls_waiting', 9]]});
        const fresh = view.applyChanges({version: 6, written: Date.now() - 30000,
            changes: [['queue', 'q', 'queue.calls_waiting', null], ['queue', 'q', 'queue.asa', 7]]});
        return [old, fresh, view.get('queue', 'q', 'queue.calls_waiting') ?? 'missing',
                view.get('queue', 'q', 'queue.asa'), view.lateMs >= 30000];
        """,
    )
    assert result == [False, True, "missing", 7, True]
