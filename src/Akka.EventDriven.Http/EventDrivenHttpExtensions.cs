using System.Text.Json;
using System.Threading.RateLimiting;
using Akka.Actor;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.Sagas;
using Akka.EventDriven.Streaming;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Http.Internal;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Http;

/// <summary>Wires the HTTP surface into an ASP.NET Core app that runs Akka.EventDriven (<c>AddAkka(...).WithEventDriven(...)</c>).</summary>
public static class EventDrivenHttpExtensions
{
    private const string ReadPolicy = "eventdriven-read";
    private const string AdminPolicy = "eventdriven-admin";

    /// <summary>Registers API-key authentication, the health checks (<c>journal</c>, <c>cluster</c>) and the
    /// OpenTelemetry metrics every module exports (meters <c>Akka.EventDriven.*</c>) with a Prometheus exporter; and,
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, tracing exported by OTLP
    /// (<see cref="EventDrivenTracingExtensions.AddEventDrivenTracing"/>).</summary>
    public static IServiceCollection AddEventDrivenHttp(this IServiceCollection services, Action<EventDrivenHttpOptions>? configure = null)
    {
        var options = new EventDrivenHttpOptions();
        configure?.Invoke(options);
        if (options.RequestsPerSecond < 1) throw new ArgumentException("RequestsPerSecond must be at least 1.", nameof(configure));
        if (options.MaxJsonDepth is < 2 or > 256) throw new ArgumentException("MaxJsonDepth must be from 2 to 256.", nameof(configure));
        services.AddSingleton(options);
        services.AddSingleton(sp =>
        {
            var development = sp.GetRequiredService<IHostEnvironment>().IsDevelopment();
            var required = options.RequireApiKey ?? !development;
            if (required && options.ApiKeys.Count == 0)
                throw new InvalidOperationException(
                    "No API key is configured, and outside the Development environment every endpoint but /health needs one. " +
                    "Set EVENTDRIVEN_API_KEYS (a comma list of key:role, role read or admin) or EventDrivenHttpOptions.ApiKeys.");
            return new ApiKeyStore(options.ApiKeys, required);
        });
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ReadPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName)
                .RequireClaim(ApiKeyAuthentication.RoleClaim, nameof(ApiRole.Admin)));
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks()
            .AddCheck<JournalHealthCheck>("journal", tags: ["ready"])
            .AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"]);
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter([.. Meters])
            .AddMeter("Akka.EventDriven.*") // modules' own meters that are not listed
            .AddPrometheusExporter());
        // Traces cost something only where they go somewhere: with no collector configured nothing listens.
        if (EventDrivenTracingExtensions.OtlpConfigured) services.AddEventDrivenTracing();
        return services;
    }

    /// <summary>
    /// Maps the API under <paramref name="prefix"/> (default <c>/api</c>), <c>/health/live</c>, <c>/health/ready</c>,
    /// <c>/metrics</c> and the OpenAPI document <c>/openapi/v1.json</c>. Every endpoint but the health checks needs an <c>X-Api-Key</c> outside Development; replay and
    /// purge need an admin key. Bad input gets an RFC 7807 problem (4xx) and never reaches the platform.
    /// </summary>
    public static IEndpointRouteBuilder MapEventDriven(this IEndpointRouteBuilder app, string prefix = "/api")
    {
        var services = app.ServiceProvider;
        _ = services.GetRequiredService<ApiKeyStore>(); // fails at start, not at the first request, without keys
        var options = services.GetRequiredService<EventDrivenHttpOptions>();
        // The actor system starts with the host, after the endpoints are mapped: resolve it at the first request.
        var lazy = new Lazy<Endpoints>(() =>
        {
            var system = services.GetRequiredService<ActorSystem>();
            var maxBody = options.MaxBodyBytes ?? MessageBus.Get(system).Settings.MaxMessageBytes + 4096L;
            return new Endpoints(system, options, new RequestReader(options, MessageTypes.For(system), maxBody), QueryBusOf(services, system, options));
        });
        Endpoints E() => lazy.Value;
        var limiter = PerKeyLimiter(options.RequestsPerSecond);

        var api = app.MapGroup(prefix).RequireAuthorization(ReadPolicy)
            .AddEndpointFilter(async (context, next) =>
            {
                var key = context.HttpContext.Request.Headers[ApiKeyAuthentication.Header].ToString() is { Length: > 0 } k
                    ? "key:" + k
                    : "ip:" + context.HttpContext.Connection.RemoteIpAddress;
                using var lease = limiter.AttemptAcquire(key);
                if (lease.IsAcquired) return await next(context);
                var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString();
                return Problems.Result(429, "Too many requests",
                    $"This key may make {options.RequestsPerSecond} requests per second; retry after {retry.TotalSeconds:0.#} s.");
            });

        api.MapPost("/commands", (Func<HttpContext, Task<IResult>>)(c => E().SendCommand(c)));
        api.MapGet("/aggregates/{name}/{id}", (string name, string id, HttpContext c) => E().GetAggregate(name, id, c));
        api.MapGet("/aggregates/{name}/{id}/history", (string name, string id, string? from, string? limit, HttpContext c) =>
            E().GetHistory(name, id, from, limit, c));
        api.MapGet("/aggregates/{name}/{id}/state", (string name, string id, string? version, HttpContext c) =>
            E().GetAggregateAt(name, id, version, c));
        api.MapPost("/topics/{topic}", (string topic, HttpContext c) => E().Publish(topic, c, queue: false));
        api.MapPost("/queues/{queue}", (string queue, HttpContext c) => E().Publish(queue, c, queue: true));
        api.MapPost("/queries", (Func<HttpContext, Task<IResult>>)(c => E().Query(c)));
        api.MapGet("/topics", () => E().Topics());
        api.MapGet("/queues", () => E().Queues());
        api.MapGet("/pipelines", () => E().Pipelines());
        api.MapGet("/dead-letters/{queue}", (string queue, string? limit, string? after) => E().ListDeadLetters(queue, limit, after));
        api.MapPost("/dead-letters/{queue}/{id}/replay", (string queue, string id) => E().ReplayDeadLetter(queue, id))
            .RequireAuthorization(AdminPolicy);
        api.MapPost("/dead-letters/{queue}/replay-all", (string queue) => E().ReplayAll(queue)).RequireAuthorization(AdminPolicy);
        api.MapDelete("/dead-letters/{queue}", (string queue) => E().Purge(queue)).RequireAuthorization(AdminPolicy);
        api.MapGet("/cluster", () => E().ClusterState());
        var projections = new Lazy<ProjectionEndpoints>(() => new ProjectionEndpoints(services.GetRequiredService<ActorSystem>()));
        api.MapGet("/projections", (Func<HttpContext, Task<IResult>>)(c => projections.Value.List(c)));
        api.MapGet("/projections/{name}/{key}", (string name, string key, HttpContext c) => projections.Value.Get(name, key, c));
        api.MapPost("/projections/{name}/{key}/{action}", (string name, string key, string action, HttpContext c) =>
            projections.Value.Act(name, key, action, c)).RequireAuthorization(AdminPolicy);
        // Anything else under the prefix is a 404 problem, not an empty page.
        api.Map("/{**rest}", (string rest) => Problems.Result(404, "Not found", $"No endpoint '{prefix}/{rest}'."));
        ApiDescriptions.Map(api, prefix, options); // sagas, request-reply, and the OpenAPI description of the group
        ConsoleEndpoints.Map(api); // the operations console's feed: /live, /trace/{correlationId}, /console/sagas, /whoami

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealth });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteHealth });
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(ReadPolicy);
        app.MapOpenApi().RequireAuthorization(ReadPolicy);
        return app;
    }

    /// <summary>The meters of the platform's modules that <see cref="AddEventDrivenHttp"/> exports on <c>/metrics</c>.</summary>
    public static IReadOnlyList<string> Meters { get; } =
    [
        Endpoints.MeterName, MessageBus.MeterName, CqrsMetrics.MeterName, Projections.Projection.MeterName,
        SagaMetrics.MeterName, StreamProcessor.MeterName,
    ];

    /// <summary>The query bus behind <c>POST /queries</c>: the container's, else the node's (<see cref="CqrsExtension"/>,
    /// which <c>WithCqrs</c> fills) when <c>WithCqrs</c> set it up or these options register queries; none otherwise.
    /// The options' registrations go onto it.</summary>
    private static QueryBus? QueryBusOf(IServiceProvider services, ActorSystem system, EventDrivenHttpOptions options)
    {
        var bus = services.GetService<QueryBus>();
        if (bus is null && (options.QueryRegistrations.Count > 0 || system.HasExtension<CqrsExtension>()))
            bus = CqrsExtension.Get(system).Queries;
        if (bus is null) return null;
        foreach (var register in options.QueryRegistrations) register(bus, services);
        return bus;
    }

    private static PartitionedRateLimiter<string> PerKeyLimiter(int perSecond) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0, AutoReplenishment = true,
            }));

    private static Task WriteHealth(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }
}
