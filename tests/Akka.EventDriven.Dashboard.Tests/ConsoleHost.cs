using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Sagas;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Akka.EventDriven.Dashboard.Tests;

/// <summary>The data of the console test's saga.</summary>
public sealed class TripData
{
    public string Trip { get; set; } = "";
}

/// <summary>
/// One node the way the service runs it, outside Development (API keys required): the Ledger aggregate, the bus, a
/// projection that can be paused and rebuilt, a saga, the console index, the API and the console at <c>/</c>; and a
/// headless Chromium (Debian's, never downloaded). Shared by the console specs, which use their own ids.
/// </summary>
public sealed class ConsoleHost : IAsyncLifetime
{
    public const string ReadKey = "read-key-0123456789abcdef";
    public const string AdminKey = "admin-key-0123456789abcdef";
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The projection the specs pause and resume.</summary>
    public static readonly ProjectionId Balances = new("dash-balances");

    public static readonly SagaDefinition<TripData> Trip = SagaDefinition.Define<TripData>("dash-trip", s =>
    {
        foreach (var step in new[] { "reserve", "charge", "confirm" })
            s.Step(step, step, action: (_, _) => Task.CompletedTask, compensation: (_, _) => Task.CompletedTask);
    });

    private WebApplication? _app;
    private IPlaywright? _playwright;

    public Uri Address { get; private set; } = null!;
    public ActorSystem System => _app!.Services.GetRequiredService<ActorSystem>();
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the specs put their screenshots (not committed).</summary>
    public static string Artifacts { get; } = FindArtifacts();

    public async Task InitializeAsync()
    {
        // A clear failure, not a download attempt, when the browser is missing (CI's .ci/run installs it).
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"Chromium is not installed at {ChromiumPath}: the console specs drive Debian's chromium through Microsoft.Playwright. " +
                "Install it with 'apt-get install -y --no-install-recommends chromium' (.ci/run does this on CI); never 'playwright install'.");

        var store = TestStore.NewSqlite();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("console", b => b
            .WithEventDriven(o =>
            {
                o.EnvironmentFile = "hocon/test.conf";
                o.Registry = LedgerTypes.Current();
                o.Persistence.Provider = store.Provider;
                o.Persistence.ConnectionString = store.ConnectionString;
                o.AddAggregate(Ledger.Definition);
            })
            .WithEventBus()
            .WithConsoleIndex()
            .WithProjection(Balances, system => Projection.ExactlyOnce(system, Balances,
                (_, _, _) => Task.CompletedTask,
                new ProjectionSettings(ClearReadModel: (_, _) => Task.CompletedTask))));
        builder.Services.AddEventDrivenHttp(o =>
        {
            o.AddApiKeys($"{ReadKey}:read,{AdminKey}:admin");
            o.RouteCommands(Ledger.Definition, typeof(Open), typeof(Deposit), typeof(Withdraw));
        });
        _app = builder.Build();
        _app.MapEventDriven();
        _app.MapEventDrivenDashboard();
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await SagaOrchestrator.Get(System).Register(Trip).StartAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        Assertions.SetDefaultExpectTimeout(30_000);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }

    /// <summary>An API client sending <paramref name="key"/>.</summary>
    public HttpClient Client(string key = AdminKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>A page at the console, 1280×800 unless told otherwise, recording console errors. With
    /// <paramref name="key"/>, the tab already holds that key (as after the prompt); without, the page asks.</summary>
    public async Task<ConsolePage> OpenAsync(string? key = AdminKey, int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        if (key is not null)
            await context.AddInitScriptAsync($"sessionStorage.setItem('eventdriven.apiKey', {JsonSerializer.Serialize(key)});");
        var page = await context.NewPageAsync();
        var console = new ConsolePage(context, page);
        await page.GotoAsync(Address.ToString());
        return console;
    }

    public async Task<JsonElement> PostAsync(string path, object body, string key = AdminKey)
    {
        using var http = Client(key);
        var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> GetAsync(string path, string key = AdminKey)
    {
        using var http = Client(key);
        var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Consumes <paramref name="queue"/> with a handler that fails (no retry) until <paramref name="fixedNow"/>
    /// says otherwise, dead-lettering into <paramref name="deadLetterQueue"/>; <paramref name="received"/> gets what it handled.</summary>
    public Task<IBusSubscription> ConsumeAsync(string queue, string deadLetterQueue, Func<bool> fixedNow, Action<Deposit> received) =>
        EventBus.EventBus.Get(System).ConsumeAsync<Deposit>(queue, (m, _) =>
        {
            if (!fixedNow()) throw new InvalidOperationException($"payment service down (amount {m.Payload.Amount})");
            received(m.Payload);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxRetries = 0, DeadLetterQueue = deadLetterQueue });

    private static string FindArtifacts()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln"))) dir = dir.Parent;
        var path = Path.Combine(dir?.FullName ?? Path.GetTempPath(), "artifacts", "dashboard");
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>A console page and the errors its console reported.</summary>
public sealed class ConsolePage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    private readonly List<string> _errors = Track(page);
    private readonly List<string> _urls = Requests(page);

    public IPage Page { get; } = page;

    public IReadOnlyList<string> Errors { get { lock (_errors) return _errors.ToArray(); } }

    /// <summary>Every URL the page requested.</summary>
    public IReadOnlyList<string> Urls { get { lock (_urls) return _urls.ToArray(); } }

    private static List<string> Requests(IPage page)
    {
        var urls = new List<string>();
        page.Request += (_, request) => { lock (urls) urls.Add(request.Url); };
        return urls;
    }

    private static List<string> Track(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})");
        };
        page.PageError += (_, error) => { lock (errors) errors.Add("page error: " + error); };
        return errors;
    }

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleHost>
{
    public const string Name = "console";
}
