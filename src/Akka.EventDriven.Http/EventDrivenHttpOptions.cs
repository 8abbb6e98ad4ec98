using Akka.EventDriven.Cqrs;

namespace Akka.EventDriven.Http;

/// <summary>Options of the HTTP surface (<see cref="EventDrivenHttpExtensions.AddEventDrivenHttp"/>).</summary>
public sealed class EventDrivenHttpOptions
{
    internal Dictionary<Type, IAggregateRoute> CommandRoutes { get; } = [];

    internal List<Action<QueryBus, IServiceProvider>> QueryRegistrations { get; } = [];

    /// <summary>The accepted API keys. Default: none.</summary>
    public List<ApiKey> ApiKeys { get; } = [];

    /// <summary>Whether every endpoint but <c>/health/*</c> needs an <c>X-Api-Key</c>. Default null: required unless the
    /// host environment is Development. Requiring keys with none configured fails at start.</summary>
    public bool? RequireApiKey { get; set; }

    /// <summary>Requests per second one API key (or, without keys, one client address) may make; more get 429 with
    /// <c>Retry-After</c>. Default 500.</summary>
    public int RequestsPerSecond { get; set; } = 500;

    /// <summary>Largest accepted request body in bytes. Default null: the bus's <c>max-message-bytes</c> plus 4 KiB
    /// for the envelope fields.</summary>
    public long? MaxBodyBytes { get; set; }

    /// <summary>Live feeds (<c>GET /api/live</c>) this node serves at once; one more is answered 503 with
    /// <c>Retry-After</c>. A stream stays open, so the request rate limit alone does not bound them. Default 100.</summary>
    public int MaxLiveStreams { get; set; } = 100;

    /// <summary>Deepest accepted JSON nesting of a request body. Default 32.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>Longest wait for a command's result before the API answers 504. Default: the aggregate's ask-timeout.</summary>
    public TimeSpan? CommandTimeout { get; set; }

    /// <summary>Routes the command types <paramref name="commandTypes"/> (each registered with a stable name) to
    /// <paramref name="aggregate"/>: <c>POST /api/commands</c> with one of their names goes to the aggregate id it names.</summary>
    public EventDrivenHttpOptions RouteCommands<TState>(Aggregate<TState> aggregate, params Type[] commandTypes) where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        foreach (var type in commandTypes)
            if (!CommandRoutes.TryAdd(type, new AggregateRoute(aggregate.Name)))
                throw new ArgumentException($"Command type {type.Name} is routed twice.", nameof(commandTypes));
        return this;
    }

    /// <summary>Adds query handlers for <c>POST /api/queries</c>: <paramref name="register"/> is called once, when the
    /// actor system runs, with the service's <see cref="QueryBus"/> (the one registered in the service container, or one the
    /// HTTP layer creates, which follows the journal to invalidate cached results and is disposed at shutdown) and the
    /// service provider. Each query type must be registered with a stable name, like commands.
    /// <code>o.RegisterQueries((bus, sp) =&gt; bus.Register&lt;GetBalance, BalanceView&gt;(handler, cache));</code></summary>
    public EventDrivenHttpOptions RegisterQueries(Action<QueryBus, IServiceProvider> register)
    {
        ArgumentNullException.ThrowIfNull(register);
        QueryRegistrations.Add(register);
        return this;
    }

    /// <summary>Adds the keys of <paramref name="list"/> (<see cref="ApiKey.ParseList"/>).</summary>
    public EventDrivenHttpOptions AddApiKeys(string? list)
    {
        ApiKeys.AddRange(ApiKey.ParseList(list));
        return this;
    }

    internal interface IAggregateRoute
    {
        string AggregateName { get; }
    }

    private sealed record AggregateRoute(string AggregateName) : IAggregateRoute;
}
