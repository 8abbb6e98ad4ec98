using Akka.EventDriven.EventBus;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Hosting;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.Http.Tests;

/// <summary>An ASP.NET Core app with Kestrel on 127.0.0.1:0 running one node with the Ledger aggregate and the bus,
/// the way a user embeds the HTTP surface.</summary>
public sealed class ServiceHost : IAsyncDisposable
{
    public const string ReadKey = "read-key-0123456789abcdef";
    public const string AdminKey = "admin-key-0123456789abcdef";

    private readonly WebApplication _app;

    private ServiceHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ActorSystem System => _app.Services.GetRequiredService<ActorSystem>();

    /// <summary>A client sending <paramref name="key"/> (none when null).</summary>
    public HttpClient Client(string? key = AdminKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public static async Task<ServiceHost> StartAsync(TestStore store, string environment = "Production",
        Action<EventDrivenHttpOptions>? http = null, Action<AkkaConfigurationBuilder>? akka = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("httptest", b =>
        {
            b.WithEventDriven(o =>
            {
                o.EnvironmentFile = "hocon/test.conf";
                o.Registry = LedgerTypes.Current().Register<GetBalance>("ledger.balance");
                o.Persistence.Provider = store.Provider;
                o.Persistence.ConnectionString = store.ConnectionString;
                o.AddAggregate(Ledger.Definition);
            })
            .WithEventBus();
            akka?.Invoke(b); // e.g. WithConsoleIndex
        });
        builder.Services.AddEventDrivenHttp(o =>
        {
            o.AddApiKeys($"{ReadKey}:read,{AdminKey}:admin");
            o.RouteCommands(Ledger.Definition, typeof(Open), typeof(Deposit), typeof(Withdraw));
            o.RegisterQueries(GetBalance.Register);
            http?.Invoke(o);
        });
        var app = builder.Build();
        app.MapEventDriven();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServiceHost(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>The test query: a ledger's balance, cached until an event of that ledger is projected. It declares its answer
/// (<see cref="IQuery{TResult}"/>) like a user's typed query; the endpoint still finds it by its registered name.</summary>
public sealed record GetBalance(string LedgerId) : IQuery<BalanceView>
{
    public static void Register(Akka.EventDriven.Cqrs.QueryBus bus, IServiceProvider services) =>
        bus.Register<GetBalance, BalanceView>(async (q, ct) =>
        {
            var system = services.GetRequiredService<ActorSystem>();
            var state = await Akka.EventDriven.EventSourcing.Aggregates.Get(system).Started[Ledger.Definition.Name].GetStateObjectAsync(q.LedgerId, ct);
            return new BalanceView(q.LedgerId, ((LedgerState)state.State).Balance, state.Version);
        }, new Akka.EventDriven.Cqrs.QueryCacheOptions<GetBalance>(TimeSpan.FromMinutes(5), q => [$"{Ledger.Definition.Name}-{q.LedgerId}"]));
}

public sealed record BalanceView(string LedgerId, decimal Balance, long Version);

/// <summary>Reading JSON answers.</summary>
public static class Json
{
    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body);
}
