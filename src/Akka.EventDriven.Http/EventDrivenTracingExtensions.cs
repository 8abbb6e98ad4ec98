using Akka.EventDriven.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Akka.EventDriven.Http;

/// <summary>Exports the platform's traces with OpenTelemetry: the activity sources of every module
/// (<see cref="EventDrivenTracing.SourceNames"/>), ASP.NET Core's request activities, and OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
public static class EventDrivenTracingExtensions
{
    /// <summary>The environment variable that names the OTLP collector (the OpenTelemetry standard one); the OTLP
    /// exporter reads it, and its companions (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, ...).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>True when <see cref="OtlpEndpointVariable"/> is set in this process's environment.</summary>
    public static bool OtlpConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable));

    /// <summary>Adds every Akka.EventDriven module's activity source (<c>Akka.EventDriven.EventSourcing</c>,
    /// <c>.Cqrs</c>, <c>.EventBus</c>, <c>.Projections</c>, <c>.Sagas</c>, <c>.Kafka</c>).</summary>
    public static TracerProviderBuilder AddEventDrivenSources(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource([.. EventDrivenTracing.SourceNames]);
    }

    /// <summary>Registers OpenTelemetry tracing of the platform: the modules' sources, ASP.NET Core request activities
    /// (whose trace context commands and publishes made by a request then carry), the OTLP exporter when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and whatever <paramref name="configure"/> adds (another exporter, a
    /// sampler). Without any exporter, call it only to add one in <paramref name="configure"/>: a registered source is
    /// listened to, so commands and events then carry trace context.</summary>
    public static IServiceCollection AddEventDrivenTracing(this IServiceCollection services, Action<TracerProviderBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOpenTelemetry().WithTracing(t =>
        {
            t.AddEventDrivenSources().AddAspNetCoreInstrumentation();
            if (OtlpConfigured) t.AddOtlpExporter();
            configure?.Invoke(t);
        });
        return services;
    }
}
