using Akka.EventDriven.EventBus;
using System.Net;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Resources;

namespace Akka.EventDriven.Service;

/// <summary>Builds the service's web application from its settings and modules.</summary>
public static class ServiceHost
{
    /// <summary>How long a stopping node may take (leave the cluster, hand off shards, finish writes) before the host gives up.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(9);

    /// <summary>The application: Kestrel on <see cref="ServiceSettings.HttpHost"/>:<see cref="ServiceSettings.HttpPort"/>,
    /// the actor system with Akka.EventDriven, the event bus and each module, and the HTTP API under <c>/api</c>.</summary>
    public static WebApplication Build(ServiceSettings settings, IReadOnlyList<IEventDrivenModule> modules, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            EnvironmentName = settings.HostEnvironmentName,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning)
            // Authentication pulls in data protection, which warns about unencrypted key files; the API keys never use it.
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            switch (settings.HttpHost)
            {
                case "0.0.0.0" or "*": k.ListenAnyIP(settings.HttpPort); break;
                case "localhost": k.ListenLocalhost(settings.HttpPort); break;
                default: k.Listen(IPAddress.Parse(settings.HttpHost), settings.HttpPort); break;
            }
        });

        builder.Services.AddAkka(settings.ServiceName, b =>
        {
            b.WithEventDriven(o =>
            {
                o.EnvironmentFile = Path.Combine(AppContext.BaseDirectory, "hocon", settings.Environment + ".conf");
                o.Persistence.Provider = settings.DatabaseUrl is null ? StoreProvider.Sqlite : StoreProvider.PostgreSql;
                o.Persistence.ConnectionString = settings.DatabaseUrl ?? settings.SqliteConnectionString;
                foreach (var module in modules) module.Configure(o);
            });
            b.AddHocon(settings.ToHocon(), HoconAddMode.Prepend);
            b.WithEventBus();
            b.WithConsoleIndex(); // the operations console's correlation trace and saga table
            foreach (var module in modules) module.ConfigureAkka(b);
        });
        builder.Services.AddEventDrivenHttp(o =>
        {
            o.ApiKeys.AddRange(settings.ApiKeys);
            foreach (var module in modules) module.ConfigureHttp(o);
        });

        // Metrics carry the service's name (Prometheus target_info service_name) rather than "unknown_service".
        builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService(settings.ServiceName));

        var app = builder.Build();
        app.MapEventDriven("/api");
        app.MapEventDrivenDashboard("/"); // the operations console at http://host:PORT/
        return app;
    }
}
