using Akka.EventDriven.Hosting;
using Akka.Hosting;
using IntelOps.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IntelOps;

/// <summary>How every phase of the main job builds its node: the environment file, the sample's message types, and
/// whatever the phase adds (aggregates, the bus, sagas).</summary>
public static class IntelOpsHost
{
    public static IHost Build(string environment, Action<EventDrivenOptions>? options = null, Action<AkkaConfigurationBuilder>? more = null) =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddAkka("intelops", builder =>
            {
                builder.WithEventDriven(o =>
                {
                    o.EnvironmentFile = $"hocon/{environment}.conf";
                    o.RegisterTypes(typeof(Investigation).Assembly);
                    options?.Invoke(o);
                });
                more?.Invoke(builder);
            }))
            .Build();
}
