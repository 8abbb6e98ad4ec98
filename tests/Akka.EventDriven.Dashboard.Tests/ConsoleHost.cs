using System.Collections.Concurrent;
using System.Data.Common;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Sagas;
using Akka.EventDriven.Streaming;
using Akka.Hosting;
using Akka.Streams.Dsl;
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

/// <summary>The query the console specs ask through <c>POST /api/queries</c>: one ledger's line in <see cref="TotalsReadModel"/>.</summary>
public sealed record DashTotal(string Account);

/// <summary>One ledger's deposits as <see cref="TotalsReadModel"/> has them.</summary>
public sealed record DashTotalView(long Deposits, decimal Total);

/// <summary>A sensor reading of the console's windowed pipeline.</summary>
public sealed record DashReading(long Number, DateTimeOffset At);

/// <summary>
/// The read model of the rebuildable projection <see cref="ConsoleHost.Totals"/>: deposits and their total per ledger,
/// in memory (cleared by the rebuild's hook). A spec can hold its handler at one event (<see cref="HoldAt"/>), so a
/// rebuild stays part way, with its progress on show, until the spec lets it go on: no timing race.
/// </summary>
public sealed class TotalsReadModel
{
    private readonly ConcurrentDictionary<string, (long LastSequenceNr, long Deposits, decimal Total)> _lines = new();
    private volatile Hold? _hold;

    public async Task HandleAsync(ProjectionEnvelope envelope, CancellationToken cancellationToken)
    {
        if (_hold is { } hold && hold.PersistenceId == envelope.PersistenceId && hold.SequenceNr == envelope.SequenceNr)
        {
            hold.Reached.TrySetResult();
            await hold.Released.Task.WaitAsync(cancellationToken);
            _hold = null;
        }
        if (envelope.Event is not Deposited deposited) return;
        // At-least-once delivery: an event seen again (after a failed offset store) is not counted twice.
        _lines.AddOrUpdate(envelope.PersistenceId, _ => (envelope.SequenceNr, 1, deposited.Amount),
            (_, line) => envelope.SequenceNr <= line.LastSequenceNr ? line : (envelope.SequenceNr, line.Deposits + 1, line.Total + deposited.Amount));
    }

    public Task ClearAsync(DbTransaction transaction, CancellationToken cancellationToken)
    {
        _lines.Clear();
        return Task.CompletedTask;
    }

    public DashTotalView Get(string persistenceId) =>
        _lines.TryGetValue(persistenceId, out var line) ? new DashTotalView(line.Deposits, line.Total) : new DashTotalView(0, 0m);

    /// <summary>Holds the handler before it handles event <paramref name="sequenceNr"/> of <paramref name="persistenceId"/>
    /// (the next time it comes by) until <see cref="Hold.Release"/>.</summary>
    public Hold HoldAt(string persistenceId, long sequenceNr) => _hold = new Hold(persistenceId, sequenceNr);

    public sealed class Hold(string persistenceId, long sequenceNr)
    {
        public string PersistenceId { get; } = persistenceId;
        public long SequenceNr { get; } = sequenceNr;
        /// <summary>Completes when the handler has got to the event and waits.</summary>
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Release() => Released.TrySetResult();
    }
}

/// <summary>
/// One node the way the service runs it, outside Development (API keys required): the Ledger aggregate, the bus, a
/// projection that can be paused, one whose rebuild can be held part way, a windowed pipeline, a saga, the console
/// index, the API and the console at <c>/</c>; and a headless Chromium (Debian's, never downloaded). Shared by the
/// console specs, which use their own ids.
/// </summary>
public sealed class ConsoleHost : IAsyncLifetime
{
    public const string ReadKey = "read-key-0123456789abcdef";
    public const string AdminKey = "admin-key-0123456789abcdef";
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The projection the specs pause and resume.</summary>
    public static readonly ProjectionId Balances = new("dash-balances");

    /// <summary>The projection the specs rebuild: <see cref="TotalsReadModel"/>, offsets stored every 5 events so a
    /// held rebuild shows progress part way.</summary>
    public static readonly ProjectionId Totals = new("dash-totals");

    /// <summary>The windowed pipeline: 20 readings a second (every 20th fails, and is skipped), counted per 1 s
    /// tumbling window of event time.</summary>
    public const string ReadingsPipeline = "dash-readings-per-second";

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

    /// <summary>The read model of <see cref="Totals"/>.</summary>
    public TotalsReadModel TotalsModel { get; } = new();

    /// <summary>The repository's root (where Akka.EventDriven.sln is).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Where the specs put their screenshots (not committed).</summary>
    public static string Artifacts { get; } = FindArtifacts();

    public async Task InitializeAsync()
    {
        EnsureChromium();
        var store = TestStore.NewSqlite();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("console", b => b
            .WithEventDriven(o =>
            {
                o.EnvironmentFile = "hocon/test.conf";
                o.Registry = LedgerTypes.Current().Register<DashTotal>("dash.total");
                o.Persistence.Provider = store.Provider;
                o.Persistence.ConnectionString = store.ConnectionString;
                o.AddAggregate(Ledger.Definition);
            })
            .WithEventBus()
            .WithConsoleIndex()
            .WithProjection(Balances, system => Projection.ExactlyOnce(system, Balances,
                (_, _, _) => Task.CompletedTask,
                new ProjectionSettings(ClearReadModel: (_, _) => Task.CompletedTask)))
            .WithProjection(Totals, system => Projection.AtLeastOnce(system, Totals, TotalsModel.HandleAsync,
                new ProjectionSettings(BatchSize: 5, PollInterval: TimeSpan.FromMilliseconds(50), ClearReadModel: TotalsModel.ClearAsync)))
            .WithStreaming(s => s.Add(ReadingsPerSecond())));
        builder.Services.AddEventDrivenHttp(o =>
        {
            o.AddApiKeys($"{ReadKey}:read,{AdminKey}:admin");
            o.RouteCommands(Ledger.Definition, typeof(Open), typeof(Deposit), typeof(Withdraw));
            o.RegisterQueries((bus, _) => bus.Register<DashTotal, DashTotalView>((q, _) =>
                Task.FromResult(TotalsModel.Get($"{Ledger.Definition.Name}-{q.Account}"))));
        });
        _app = builder.Build();
        _app.MapEventDriven();
        _app.MapEventDrivenDashboard();
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await SagaOrchestrator.Get(System).Register(Trip).StartAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await LaunchChromiumAsync(_playwright);
    }

    /// <summary>A clear failure, not a download attempt, when the browser is missing (CI's .ci/run installs it).</summary>
    public static void EnsureChromium()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"Chromium is not installed at {ChromiumPath}: the console specs drive Debian's chromium through Microsoft.Playwright. " +
                "Install it with 'apt-get install -y --no-install-recommends chromium' (.ci/run does this on CI); never 'playwright install'.");
    }

    /// <summary>Debian's Chromium, headless, through <paramref name="playwright"/>; expectations wait up to 30 s.</summary>
    public static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        Assertions.SetDefaultExpectTimeout(30_000);
        return browser;
    }

    private static PipelineDefinition ReadingsPerSecond()
    {
        long number = 0;
        return Pipeline.Create(ReadingsPipeline)
            .From(Source.Tick(TimeSpan.Zero, TimeSpan.FromMilliseconds(50), NotUsed.Instance))
            .Select(_ => new DashReading(++number, DateTimeOffset.UtcNow))
            .Select(r => r.Number % 20 == 0 ? throw new InvalidOperationException($"sensor glitch at reading {r.Number}") : r)
            .TumblingWindow(TimeSpan.FromSeconds(1), Aggregators.Count<DashReading>(),
                new WindowOptions<DashReading> { EventTime = r => r.At, ValueUnit = "readings" })
            .ForEach(_ => { })
            .WithSupervision(PipelineSupervision.Resume);
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
        MessageBus.Get(System).ConsumeAsync<Deposit>(queue, (m, _) =>
        {
            if (!fixedNow()) throw new InvalidOperationException($"payment service down (amount {m.Payload.Amount})");
            received(m.Payload);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxRetries = 0, DeadLetterQueue = deadLetterQueue });

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Path.GetTempPath();
    }

    private static string FindArtifacts()
    {
        var path = Path.Combine(FindRoot(), "artifacts", "dashboard");
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
