using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Akka.EventDriven.EventSourcing.Tests;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Akka.EventDriven.Dashboard.Tests;

/// <summary>A spec that runs only when <see cref="Variable"/> is 1: it runs the main job for minutes (its threat
/// windows are a minute long), so CI skips it. It is how the README's screenshot of the running main job is taken.</summary>
public sealed class MainJobFactAttribute : FactAttribute
{
    public const string Variable = "EVENTDRIVEN_MAIN_JOB_SCREENSHOT";

    public MainJobFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
            Skip = $"Runs the main job for about four minutes; set {Variable}=1 to take docs/operations-console-main-job.png.";
    }
}

/// <summary>
/// The console of the main job (<c>dotnet run --project samples/IntelOps</c>) while its traffic runs: every panel with
/// data, the threat pipelines' rates, and the bar chart of closed threats-per-minute windows. Saves
/// <c>artifacts/dashboard/main-job.png</c> and copies it to <c>docs/operations-console-main-job.png</c>.
/// <code>EVENTDRIVEN_MAIN_JOB_SCREENSHOT=1 dotnet test tests/Akka.EventDriven.Dashboard.Tests -c Release --filter "FullyQualifiedName~MainJobScreenshotSpec"</code>
/// </summary>
public sealed class MainJobScreenshotSpec
{
    private const int Windows = 4;

    [MainJobFact]
    public async Task The_console_of_the_running_main_job_shows_its_pipelines_and_closed_threat_windows()
    {
        ConsoleHost.EnsureChromium();
        await using var job = MainJob.Start(ConsoleHost.RepositoryRoot, "--duration", "600s", "--port", "0");
        var address = await job.Address.WaitAsync(TimeSpan.FromMinutes(5)); // dotnet run may build first

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await ConsoleHost.LaunchChromiumAsync(playwright);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        await using var console = new ConsolePage(context, await context.NewPageAsync());
        var page = console.Page;
        await page.GotoAsync(address.ToString());
        await Expect(page.Locator("#main")).ToBeVisibleAsync();
        await Expect(page.Locator("#role")).ToHaveTextAsync("development (no key)");
        await Expect(page.Locator("#feed")).ToHaveTextAsync(new Regex("^live"));

        // The threat pipelines run with traffic; each closed minute adds a bar (the first minute is the partial one).
        foreach (var name in new[] { "findings-to-bus", "threat-analysis", "threats-per-minute" })
        {
            var row = page.Locator($"#pipelines tr[data-pipeline='{name}']");
            await Expect(row.Locator(".status")).ToHaveTextAsync("Running");
            await TestWait.UntilAsync(async () => Assert.True(Number(await row.Locator(".in-rate").TextContentAsync()) > 0, $"{name} in rate"),
                TimeSpan.FromMinutes(1));
        }
        var chart = page.Locator("#pipelines .chart.windows[data-pipeline='threats-per-minute']");
        await Expect(chart).ToContainTextAsync("threats per 1 min window");
        await TestWait.UntilAsync(async () =>
        {
            var bars = int.Parse(await chart.GetAttributeAsync("data-bars") ?? "0", CultureInfo.InvariantCulture);
            Assert.True(bars >= Windows, $"{bars} closed window(s) shown, waiting for {Windows}; the job says: {job.LastLine}");
        }, TimeSpan.FromMinutes(8));
        await Expect(page.Locator("#cluster table")).ToContainTextAsync("Up");
        await Expect(page.Locator("#projections [data-projection='intelops-active-per-analyst/all']")).ToBeVisibleAsync();
        await Expect(page.Locator("#saga-counts [data-state=Completed]")).Not.ToHaveTextAsync("0");
        await Expect(page.Locator("#dead-letters .dlq[data-queue='intel.enrich-dlq']")).ToContainTextAsync("malformed OSINT record");

        var shot = Path.Combine(ConsoleHost.Artifacts, "main-job.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        await page.Locator("#pipelines").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ConsoleHost.Artifacts, "main-job-pipelines.png") });
        var docs = Directory.CreateDirectory(Path.Combine(ConsoleHost.RepositoryRoot, "docs"));
        File.Copy(shot, Path.Combine(docs.FullName, "operations-console-main-job.png"), overwrite: true);
        Assert.True(console.Errors.Count == 0, "Console errors:\n" + string.Join("\n", console.Errors));
    }

    private static double Number(string? text) =>
        double.Parse(text!, NumberStyles.AllowThousands | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

    /// <summary>The main job as a newcomer runs it (<c>dotnet run --project samples/IntelOps -c Release</c>), stopped
    /// (its process tree) when disposed.</summary>
    private sealed class MainJob : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private MainJob(Process process) => _process = process;

        /// <summary>The job's address, from its "IntelOps is running: http://..." line.</summary>
        public Task<Uri> Address => _address.Task;

        /// <summary>The job's latest output line (its progress line while the traffic runs).</summary>
        public string LastLine { get; private set; } = "";

        public static MainJob Start(string root, params string[] options)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { "run", "--project", "samples/IntelOps", "-c", "Release", "--" }.Concat(options)) start.ArgumentList.Add(a);
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var job = new MainJob(process);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not { } line) return;
                job.LastLine = line;
                var running = Regex.Match(line, @"^IntelOps is running: (http://\S+)");
                if (running.Success) job._address.TrySetResult(new Uri(running.Groups[1].Value));
            };
            process.ErrorDataReceived += (_, _) => { };
            process.Exited += (_, _) => job._address.TrySetException(new InvalidOperationException($"The main job exited ({process.ExitCode}): {job.LastLine}"));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return job;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
            _process.Dispose();
        }
    }
}
