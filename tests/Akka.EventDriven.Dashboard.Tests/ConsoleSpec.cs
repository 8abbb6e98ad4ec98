using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.EventDriven.EventSourcing.Tests;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Akka.EventDriven.Dashboard.Tests;

/// <summary>The operations console in headless Chromium against a running node (issue 14's list).</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleSpec(ConsoleHost host)
{
    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private static void AssertNoErrors(ConsolePage console) =>
        Assert.True(console.Errors.Count == 0, "Console errors:\n" + string.Join("\n", console.Errors));

    private static string Shot(string name) => Path.Combine(ConsoleHost.Artifacts, name + ".png");

    /// <summary>Some of everything: events, a saga, bus traffic, a dead letter.</summary>
    private async Task<string> TrafficAsync()
    {
        var correlation = NewId("case");
        var account = NewId("acc");
        await host.PostAsync("/api/commands", new { type = "ledger.open", aggregateId = account, correlationId = correlation, payload = new { owner = "ada" } });
        await host.PostAsync("/api/commands", new { type = "ledger.deposit", aggregateId = account, correlationId = correlation, payload = new { amount = 25 } });
        await host.PostAsync("/api/sagas/dash-trip", new { input = new { trip = "lisbon" }, correlationId = correlation });
        for (var i = 0; i < 5; i++) await host.PostAsync("/api/topics/dash.orders", new { type = "ledger.deposit", payload = new { amount = i } });
        return correlation;
    }

    [Fact]
    public async Task The_page_loads_without_console_errors_and_every_panel_shows_data_from_the_node()
    {
        await TrafficAsync();
        var queue = NewId("dash-q");
        await using var poison = await host.ConsumeAsync(queue, queue + "-dlq", () => false, _ => { });
        await host.PostAsync($"/api/queues/{queue}", new { type = "ledger.deposit", payload = new { amount = 99 } });

        await using var console = await host.OpenAsync();
        var page = console.Page;
        await Expect(page.Locator("#main")).ToBeVisibleAsync();
        await Expect(page.Locator("#feed")).ToHaveTextAsync(new Regex("^live"));
        await Expect(page.Locator("#cluster table")).ToContainTextAsync("Up");
        await Expect(page.Locator("#cluster")).ToContainTextAsync("leader");
        await Expect(page.Locator("#bus-tiles [data-metric=published]")).Not.ToHaveTextAsync("0");
        await Expect(page.Locator("#chart-published")).ToContainTextAsync("msg/s");
        await Expect(page.Locator($"#dead-letters .dlq[data-queue='{queue}-dlq']")).ToContainTextAsync("payment service down");
        await Expect(page.Locator("#projections [data-projection='dash-balances/all']")).ToContainTextAsync("Running");
        await Expect(page.Locator("#projections [data-projection='eventdriven-console/all']")).ToBeVisibleAsync();
        await Expect(page.Locator("#saga-counts [data-state=Completed]")).Not.ToHaveTextAsync("0");
        await Expect(page.Locator($"#pipelines tr[data-pipeline='{ConsoleHost.ReadingsPipeline}']")).ToContainTextAsync("Running");
        await Expect(page.Locator("#role")).ToHaveTextAsync("admin key");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("console"), FullPage = true });
        foreach (var panel in new[] { "cluster", "bus", "dead-letters", "projections", "sagas", "pipelines", "events" })
            await page.Locator("#" + panel).ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot(panel) });
        AssertNoErrors(console);
    }

    [Fact]
    public async Task At_phone_width_the_page_fits_the_screen()
    {
        await TrafficAsync();
        await using var console = await host.OpenAsync(width: 390, height: 844);
        var page = console.Page;
        await Expect(page.Locator("#projections table")).ToBeVisibleAsync();
        await Expect(page.Locator("#cluster table")).ToBeVisibleAsync();
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"The page is {overflow} px wider than a 390 px screen.");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("phone"), FullPage = true });
        AssertNoErrors(console);
    }

    [Fact]
    public async Task Numbers_and_the_chart_move_when_messages_are_published_through_the_api_without_a_reload()
    {
        await using var console = await host.OpenAsync();
        var page = console.Page;
        var tile = page.Locator("#bus-tiles [data-metric=published]");
        await Expect(tile).ToBeVisibleAsync();
        var before = long.Parse((await tile.TextContentAsync())!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        await Expect(page.Locator("#chart-published")).ToBeVisibleAsync();
        var maxBefore = double.Parse((await page.Locator("#chart-published").GetAttributeAsync("data-max"))!, CultureInfo.InvariantCulture);

        for (var i = 0; i < 20; i++) await host.PostAsync("/api/topics/dash.numbers", new { type = "ledger.deposit", payload = new { amount = i } });

        await TestWait.UntilAsync(async () =>
        {
            var now = long.Parse((await tile.TextContentAsync())!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            Assert.True(now >= before + 20, $"published shows {now}, was {before}");
            var max = double.Parse((await page.Locator("#chart-published").GetAttributeAsync("data-max"))!, CultureInfo.InvariantCulture);
            Assert.True(max > 0 && max > maxBefore - 1e-9, $"chart max {max} msg/s");
        }, TimeSpan.FromSeconds(30));
        // The page shows what the API says (the same counters /metrics exports).
        // The API counts the same publishes: the topic itself has all 20 (the tile above is the node's total).
        var api = (await host.GetAsync("/api/topics")).GetProperty("topics").EnumerateArray()
            .Single(t => t.GetProperty("name").GetString() == "dash.numbers").GetProperty("published").GetInt64();
        Assert.True(api >= 20, $"/api/topics says dash.numbers had {api} publishes");
        AssertNoErrors(console);
    }

    [Fact]
    public async Task A_poison_message_shows_in_its_dead_letter_panel_and_replay_from_the_page_redelivers_it()
    {
        var queue = NewId("dash-pay");
        var dlq = queue + "-dlq";
        var repaired = false;
        var received = new TaskCompletionSource<decimal>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var consumer = await host.ConsumeAsync(queue, dlq, () => Volatile.Read(ref repaired), d => received.TrySetResult(d.Amount));
        await host.PostAsync($"/api/queues/{queue}", new { type = "ledger.deposit", payload = new { amount = 42 } });

        await using var console = await host.OpenAsync();
        var page = console.Page;
        var panel = page.Locator($"#dead-letters .dlq[data-queue='{dlq}']");
        await Expect(panel).ToContainTextAsync("payment service down (amount 42)");
        await Expect(panel).ToContainTextAsync(queue); // original queue
        await panel.ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot("dead-letter") });

        Volatile.Write(ref repaired, true); // the handler is fixed meanwhile
        await panel.Locator("button[data-action=replay]").First.ClickAsync();
        await Expect(page.Locator("#confirm-dialog")).ToBeVisibleAsync();
        await page.Locator("#confirm-ok").ClickAsync();

        Assert.Equal(42m, await received.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        await Expect(panel).ToHaveCountAsync(0);
        Assert.Equal(0, (await host.GetAsync($"/api/dead-letters/{dlq}")).GetProperty("count").GetInt64());
        AssertNoErrors(console);
    }

    [Fact]
    public async Task Pause_then_resume_a_projection_from_the_page_changes_its_state_in_the_api()
    {
        await using var console = await host.OpenAsync();
        var page = console.Page;
        var row = page.Locator("#projections [data-projection='dash-balances/all']");
        await Expect(row).ToContainTextAsync("Running");

        await row.Locator("button[data-action=pause]").ClickAsync();
        await TestWait.UntilAsync(async () =>
            Assert.Equal("Paused", (await host.GetAsync("/api/projections/dash-balances/all")).GetProperty("state").GetString()), TimeSpan.FromSeconds(30));
        await Expect(row.Locator(".state")).ToHaveTextAsync("Paused");

        await row.Locator("button[data-action=resume]").ClickAsync();
        await TestWait.UntilAsync(async () =>
            Assert.Equal("Running", (await host.GetAsync("/api/projections/dash-balances/all")).GetProperty("state").GetString()), TimeSpan.FromSeconds(30));
        await Expect(row.Locator(".state")).ToHaveTextAsync("Running");
        AssertNoErrors(console);
    }

    private static double Number(string? text) => double.Parse(text!, NumberStyles.AllowThousands | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

    private async Task<DashTotalView> TotalAsync(string account)
    {
        var result = (await host.PostAsync("/api/queries", new { type = "dash.total", payload = new { account } })).GetProperty("result");
        return result.Deserialize<DashTotalView>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    [Fact]
    public async Task Rebuild_from_the_page_shows_its_progress_then_the_projection_runs_again_with_its_read_model_rebuilt()
    {
        var account = NewId("acc");
        await host.PostAsync("/api/commands", new { type = "ledger.open", aggregateId = account, payload = new { owner = "ada" } });
        for (var amount = 1; amount <= 20; amount++)
            await host.PostAsync("/api/commands", new { type = "ledger.deposit", aggregateId = account, payload = new { amount } });
        await TestWait.UntilAsync(async () => Assert.Equal(new DashTotalView(20, 210m), await TotalAsync(account)), TimeSpan.FromSeconds(60));

        // The rebuild will wait at this ledger's 11th deposit (sequence nr 12): part way, until the spec lets it go on.
        var hold = host.TotalsModel.HoldAt($"{Ledger.Definition.Name}-{account}", 12);
        try
        {
            await using var console = await host.OpenAsync();
            var page = console.Page;
            var row = page.Locator("#projections [data-projection='dash-totals/all']");
            await Expect(row.Locator(".state")).ToHaveTextAsync("Running");
            await Expect(row.Locator(".rebuild")).ToHaveCountAsync(0);

            await row.Locator("button[data-action=rebuild]").ClickAsync();
            await Expect(page.Locator("#confirm-dialog")).ToBeVisibleAsync();
            await Expect(page.Locator("#confirm-text")).ToContainTextAsync("Rebuild dash-totals/all?");
            await page.Locator("#confirm-ok").ClickAsync();
            await hold.Reached.Task.WaitAsync(TimeSpan.FromSeconds(60));

            // Held part way: the API says Rebuilding with the offset replayed of the target, and the page shows the same.
            var status = await host.GetAsync("/api/projections/dash-totals/all");
            Assert.Equal("Rebuilding", status.GetProperty("state").GetString());
            var (offset, target, percent) = (status.GetProperty("offset").GetInt64(), status.GetProperty("rebuildTarget").GetInt64(),
                status.GetProperty("rebuildPercent").GetInt32());
            Assert.True(offset > 0 && offset < target, $"offset {offset} of {target}");
            Assert.InRange(percent, 1, 99);
            Assert.Equal((int)(100 * offset / target), percent);
            await Expect(row.Locator(".state")).ToHaveTextAsync("Rebuilding");
            var progress = row.Locator(".rebuild");
            await Expect(progress).ToHaveAttributeAsync("data-offset", offset.ToString(CultureInfo.InvariantCulture));
            await Expect(progress).ToHaveAttributeAsync("data-target", target.ToString(CultureInfo.InvariantCulture));
            await Expect(progress.Locator(".pct")).ToHaveTextAsync($"{percent} %");
            await Expect(progress.Locator("progress")).ToHaveAttributeAsync("value", percent.ToString(CultureInfo.InvariantCulture));
            await Expect(progress).ToContainTextAsync(string.Create(CultureInfo.InvariantCulture, $"offset {offset:N0} of {target:N0}"));
            // The read model was cleared and holds the replayed part: deposits 1 to 10 (sequence nrs 2 to 11).
            Assert.Equal(new DashTotalView(10, 55m), await TotalAsync(account));
            await page.Locator("#projections").ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot("rebuild-progress") });

            hold.Release();
            await Expect(row.Locator(".state")).ToHaveTextAsync("Running");
            await Expect(row.Locator(".rebuild")).ToHaveCountAsync(0);
            var done = await host.GetAsync("/api/projections/dash-totals/all");
            Assert.Equal("Running", done.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, done.GetProperty("rebuildTarget").ValueKind);
            Assert.True(done.GetProperty("offset").GetInt64() >= target, done.ToString());
            Assert.Equal(new DashTotalView(20, 210m), await TotalAsync(account));
            AssertNoErrors(console);
        }
        finally
        {
            hold.Release();
        }
    }

    [Fact]
    public async Task The_pipelines_panel_shows_a_running_windowed_pipeline_and_its_bar_chart_gains_a_bar_as_each_window_closes()
    {
        const string name = ConsoleHost.ReadingsPipeline;
        await using var console = await host.OpenAsync();
        var page = console.Page;
        var row = page.Locator($"#pipelines tr[data-pipeline='{name}']");
        await Expect(row.Locator(".status")).ToHaveTextAsync("Running");
        await Expect(page.Locator("#pipelines thead")).ToContainTextAsync("in (elements/s, last 10 s)");
        await Expect(page.Locator("#pipelines thead")).ToContainTextAsync("out (elements/s, last 10 s)");
        // Elements in and out per second, and the failed readings (every 20th) as errors, as the API counts them.
        await TestWait.UntilAsync(async () =>
        {
            Assert.True(Number(await row.Locator(".in-rate").TextContentAsync()) > 0, "in rate");
            Assert.True(Number(await row.Locator(".out-rate").TextContentAsync()) > 0, "out rate");
            Assert.True(Number(await row.Locator(".errors").TextContentAsync()) > 0, "errors");
        }, TimeSpan.FromSeconds(60));
        var shown = (In: Number(await row.Locator(".in").TextContentAsync()), Errors: Number(await row.Locator(".errors").TextContentAsync()));
        var api = (await host.GetAsync("/api/pipelines")).GetProperty("pipelines").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);
        Assert.InRange(shown.In, 1, api.GetProperty("elementsIn").GetInt64());
        Assert.InRange(shown.Errors, 1, api.GetProperty("errors").GetInt64());
        await Expect(row).ToContainTextAsync("sensor glitch at reading");

        // The bar chart of closed windows: labelled with its unit, and a bar more for each window that closes.
        var chart = page.Locator($"#pipelines .chart.windows[data-pipeline='{name}']");
        await Expect(chart).ToContainTextAsync("readings per 1 s window");
        async Task<HashSet<string>> BarsAsync() =>
            (await chart.Locator("rect").EvaluateAllAsync<string[]>("bars => bars.map(b => b.dataset.start)")).ToHashSet();
        var before = await BarsAsync();
        HashSet<string> after = [];
        await TestWait.UntilAsync(async () =>
        {
            after = await BarsAsync();
            var added = after.Except(before).Order(StringComparer.Ordinal).ToList();
            Assert.True(added.Count >= 3, $"{added.Count} new bar(s) after {before.Count}");
            Assert.True(before.Count == 0 || string.CompareOrdinal(added[0], before.Max(StringComparer.Ordinal)) > 0, "new bars are later windows");
        }, TimeSpan.FromSeconds(60));
        await Expect(chart).ToContainTextAsync("readings");
        var newest = chart.Locator("rect").Last;
        Assert.True(double.Parse((await newest.GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture) > 0);
        Assert.Matches(@"^\d\d:\d\d:\d\d–\d\d:\d\d:\d\d UTC: \d+ readings \(\d+ elements\)$", (await newest.Locator("title").TextContentAsync())!);
        // The bars are the API's windows: every shown window start is one the API lists (it keeps the latest 60).
        var windows = (await host.GetAsync("/api/pipelines")).GetProperty("pipelines").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == name).GetProperty("windows").EnumerateArray()
            .ToDictionary(w => w.GetProperty("start").GetDateTimeOffset(), w => w.GetProperty("value").GetDouble());
        var shownStart = DateTimeOffset.Parse((await newest.GetAttributeAsync("data-start"))!, CultureInfo.InvariantCulture);
        Assert.Equal(windows[shownStart], double.Parse((await newest.GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture));
        await page.Locator("#pipelines").ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot("pipelines-windows") });
        AssertNoErrors(console);
    }

    [Fact]
    public async Task The_event_browser_shows_history_state_at_version_2_and_a_correlation_trace_across_two_aggregates_and_a_saga()
    {
        var correlation = NewId("case");
        var (first, second) = (NewId("acc"), NewId("acc"));
        await host.PostAsync("/api/commands", new { type = "ledger.open", aggregateId = first, correlationId = correlation, payload = new { owner = "ada" } });
        await host.PostAsync("/api/commands", new { type = "ledger.deposit", aggregateId = first, correlationId = correlation, payload = new { amount = 10 } });
        await host.PostAsync("/api/commands", new { type = "ledger.deposit", aggregateId = first, correlationId = correlation, payload = new { amount = 5 } });
        await host.PostAsync("/api/commands", new { type = "ledger.open", aggregateId = second, correlationId = correlation, payload = new { owner = "bob" } });
        var sagaId = (await host.PostAsync("/api/sagas/dash-trip", new { input = new { trip = "porto" }, correlationId = correlation }))
            .GetProperty("sagaId").GetString()!;

        await using var console = await host.OpenAsync();
        var page = console.Page;
        await Expect(page.Locator("#main")).ToBeVisibleAsync();
        await page.Locator("#aggregate-name").FillAsync("Ledger");
        await page.Locator("#aggregate-id").FillAsync(first);
        await page.Locator("#aggregate-form button[type=submit]").ClickAsync();
        var history = page.Locator("#history");
        await Expect(history).ToContainTextAsync("3 event(s)");
        await Expect(history.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(history).ToContainTextAsync("ledger.deposited");
        await Expect(history).ToContainTextAsync(correlation);

        // The slider: state as of version 2 (opened, then 10 deposited).
        await page.Locator("#version").EvaluateAsync("(el) => { el.value = '2'; el.dispatchEvent(new Event('input', { bubbles: true })); }");
        await Expect(page.Locator("#state-json")).ToHaveAttributeAsync("data-version", "2");
        await Expect(page.Locator("#state-json")).ToContainTextAsync("\"balance\": 10");
        await Expect(page.Locator("#version-out")).ToHaveTextAsync("2");

        // A click on the correlation id: the case's trace through both aggregates and the saga.
        await history.Locator($"button[data-trace='{correlation}']").First.ClickAsync();
        var trace = page.Locator("#trace");
        await TestWait.UntilAsync(async () =>
        {
            // The console index catches up within seconds; ask again until the saga's end is in.
            await page.Locator("#trace-form button[type=submit]").ClickAsync();
            await Expect(trace).ToContainTextAsync($"Ledger {first}", new LocatorAssertionsToContainTextOptions { Timeout = 2000 });
            await Expect(trace).ToContainTextAsync($"Ledger {second}", new LocatorAssertionsToContainTextOptions { Timeout = 2000 });
            await Expect(trace).ToContainTextAsync($"saga {sagaId}", new LocatorAssertionsToContainTextOptions { Timeout = 2000 });
            await Expect(trace).ToContainTextAsync("saga.completed", new LocatorAssertionsToContainTextOptions { Timeout = 2000 });
        }, TimeSpan.FromSeconds(60));
        await Expect(trace.Locator(".kind-saga").First).ToBeVisibleAsync();
        await page.Locator("#events").ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot("event-browser") });
        AssertNoErrors(console);
    }

    [Fact]
    public async Task A_read_key_sees_the_data_but_no_admin_buttons()
    {
        var queue = NewId("dash-ro");
        await using var poison = await host.ConsumeAsync(queue, queue + "-dlq", () => false, _ => { });
        await host.PostAsync($"/api/queues/{queue}", new { type = "ledger.deposit", payload = new { amount = 7 } });

        await using var console = await host.OpenAsync(ConsoleHost.ReadKey);
        var page = console.Page;
        await Expect(page.Locator("#role")).ToHaveTextAsync("read key");
        await Expect(page.Locator($"#dead-letters .dlq[data-queue='{queue}-dlq']")).ToContainTextAsync("payment service down");
        await Expect(page.Locator("#projections [data-projection='dash-balances/all']")).ToBeVisibleAsync();
        await Expect(page.Locator("#dead-letters button")).ToHaveCountAsync(0);
        await Expect(page.Locator("#projections button")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("read-key"), FullPage = true });
        AssertNoErrors(console);
    }

    [Fact]
    public async Task Without_a_key_outside_development_the_page_asks_for_one_and_shows_no_data()
    {
        await using var console = await host.OpenAsync(key: null);
        var page = console.Page;
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await Expect(page.Locator("#main")).ToBeHiddenAsync();
        await Expect(page.Locator("#locked")).ToBeVisibleAsync();
        Assert.Equal("–", await page.Locator("#node").TextContentAsync()); // not even the node's address
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("key-prompt") });

        await page.Locator("#key-input").FillAsync("not-a-valid-key-0123456789");
        await page.Locator("#key-submit").ClickAsync();
        await Expect(page.Locator("#key-error")).ToContainTextAsync("refused");
        await Expect(page.Locator("#main")).ToBeHiddenAsync();

        await page.Locator("#key-input").FillAsync(ConsoleHost.AdminKey);
        await page.Locator("#key-submit").ClickAsync();
        await Expect(page.Locator("#main")).ToBeVisibleAsync();
        await Expect(page.Locator("#cluster table")).ToContainTextAsync("Up");
        // The key went in a header only: no URL the page loaded carries it.
        Assert.NotEmpty(console.Urls);
        Assert.All(console.Urls, url => Assert.DoesNotContain(ConsoleHost.AdminKey, url, StringComparison.Ordinal));
        // The only errors are the browser's notes on the refused calls (401), none from the page's code.
        Assert.All(console.Errors, e => Assert.Contains("401", e));
    }
}
