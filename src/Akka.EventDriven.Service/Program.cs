using Akka.EventDriven.Http;
using Akka.EventDriven.Service;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// The event-bus-service: one node configured only by environment variables (README, "The service").
// Exit codes: 0 after a clean stop (SIGTERM, Ctrl+C), 2 for bad configuration, 1 when the node fails to start or run.
//
// `--probe <url>`: the container health check (the runtime image has no curl): GET the URL, exit 0 on a 2xx answer
// within 5 s, 1 otherwise, printing the status. docker-compose.yml's nodes use it on /health/ready.
if (args is ["--probe", var probeUrl, ..])
    return await HealthProbe.RunAsync(probeUrl, Console.Out);

ServiceSettings settings;
IReadOnlyList<IEventDrivenModule> modules;
try
{
    settings = ServiceSettings.FromEnvironment(Environment.GetEnvironmentVariable);
    modules = ModuleLoader.Load(settings.Modules);
}
catch (ServiceConfigurationException e)
{
    Console.Error.WriteLine($"event-bus-service: configuration error: {e.Message}");
    return 2;
}

WebApplication app;
try
{
    app = ServiceHost.Build(settings, modules, args);
}
catch (Exception e)
{
    Console.Error.WriteLine($"event-bus-service: configuration error: {e.GetBaseException().Message}");
    return 2;
}

var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("event-bus-service");
try
{
    await app.StartAsync();
    log.LogInformation(
        "Service '{Name}' ({Environment}) listening on http://{Host}:{Port}; store {Store}; Kafka {Kafka}; seeds [{Seeds}]; modules [{Modules}]",
        settings.ServiceName, settings.Environment, settings.HttpHost, settings.HttpPort,
        settings.DatabaseUrl is null ? "SQLite " + settings.SqliteConnectionString : "PostgreSQL",
        settings.KafkaBrokers ?? "none", string.Join(", ", settings.Seeds), string.Join(", ", modules.Select(m => m.Name)));
    if (settings.IsDevelopment && settings.ApiKeys.Count == 0)
        log.LogWarning("Development environment without EVENTDRIVEN_API_KEYS: every endpoint is open to anyone who can reach the port");
    Console.Out.WriteLine($"event-bus-service: ready on port {settings.HttpPort}");
    await app.WaitForShutdownAsync();
    log.LogInformation("Service '{Name}' stopped", settings.ServiceName);
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"event-bus-service: failed: {e.GetBaseException().Message}");
    return 1;
}
finally
{
    await app.DisposeAsync();
}
