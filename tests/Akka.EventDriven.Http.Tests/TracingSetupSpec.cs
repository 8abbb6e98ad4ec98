#region usings
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
#endregion
using Microsoft.Extensions.Hosting;

namespace Akka.EventDriven.Http.Tests;

/// <summary>The README's "Tracing" setup compiles and registers a tracer provider; without a collector configured,
/// AddEventDrivenHttp registers none (nothing listens, nothing is stored).</summary>
public sealed class TracingSetupSpec
{
    [Fact]
    public async Task The_readme_setups_register_a_tracer_provider()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        #region tracing-http
        // With the HTTP package: sources + ASP.NET Core requests (+ OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set), and yours.
        builder.Services.AddEventDrivenTracing(t => t.AddOtlpExporter(o => o.Endpoint = new Uri("http://localhost:4317")));
        #endregion
        await using var app = builder.Build();
        Assert.NotNull(app.Services.GetService<TracerProvider>());

        var services = new ServiceCollection();
        #region tracing-embedded
        // Embedded, without it: listen to the modules' sources with any OpenTelemetry setup.
        services.AddOpenTelemetry().WithTracing(t => t.AddSource([.. EventDrivenTracing.SourceNames]).AddOtlpExporter());
        #endregion
        await using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetService<TracerProvider>());
    }

    [Fact]
    public async Task Without_a_collector_the_http_surface_registers_no_tracing()
    {
        Assert.False(EventDrivenTracingExtensions.OtlpConfigured, $"{EventDrivenTracingExtensions.OtlpEndpointVariable} is set in the test environment");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Services.AddEventDrivenHttp();
        await using var app = builder.Build();
        Assert.Null(app.Services.GetService<TracerProvider>());
    }
}
