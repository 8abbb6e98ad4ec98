using System.Reflection;
using System.Text;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Hosting;

/// <summary>
/// What <see cref="EventDrivenHostingExtensions.WithEventDriven"/> wires. Every null option keeps the value of the
/// environment file (<see cref="EnvironmentFile"/>) or, failing that, the embedded reference.conf.
/// </summary>
public sealed class EventDrivenOptions
{
    internal List<AggregateRegistration> Aggregates { get; } = [];

    /// <summary>A HOCON environment overlay such as <c>hocon/development.conf</c>; its settings (cluster, remoting,
    /// <c>akka.event-driven.*</c>) apply under these options. A relative path is tried against the current directory,
    /// then against the application's base directory; a file found in neither fails the start with both paths named.
    /// Default: null, none. Use it for your own file; for the shipped ones, <see cref="Environment"/> needs no file.</summary>
    public string? EnvironmentFile { get; set; }

    /// <summary>One of the environments this package embeds (the repository's <c>hocon/</c> folder, compiled in):
    /// <c>development</c> (one node on localhost, SQLite), <c>test</c> (fast timers, SQLite) or <c>production</c>
    /// (PostgreSQL from <c>DATABASE_URL</c>, split-brain resolver, never joins itself). Applies under these options,
    /// like <see cref="EnvironmentFile"/>; set one or the other. Names are case-insensitive; an unknown one fails the
    /// start listing the known ones. Default: null, none.</summary>
    public string? Environment { get; set; }

    /// <summary>The names <see cref="Environment"/> accepts.</summary>
    public static IReadOnlyList<string> EmbeddedEnvironments { get; } = typeof(EventDrivenOptions).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(EnvironmentResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".conf", StringComparison.Ordinal))
        .Select(n => n[EnvironmentResourcePrefix.Length..^".conf".Length]).Order(StringComparer.Ordinal).ToArray();

    internal const string EnvironmentResourcePrefix = "Akka.EventDriven.Hosting.environments.";

    /// <summary>The HOCON text of the embedded environment <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No environment of that name is embedded.</exception>
    public static string EmbeddedEnvironment(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var known = EmbeddedEnvironments.FirstOrDefault(e => string.Equals(e, name.Trim(), StringComparison.OrdinalIgnoreCase))
                    ?? throw new ArgumentException(
                        $"Unknown environment '{name}': the embedded ones are {string.Join(", ", EmbeddedEnvironments)}. " +
                        "For a file of your own, set EnvironmentFile instead.", nameof(name));
        using var stream = typeof(EventDrivenOptions).Assembly.GetManifestResourceStream(EnvironmentResourcePrefix + known + ".conf")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Where events and snapshots are stored.</summary>
    public PersistenceOptions Persistence { get; } = new();

    /// <summary>The registry of stable type names for events, commands and states. Register everything here.</summary>
    public MessageTypeRegistry Registry { get; set; } = new();

    /// <summary>Registers every <see cref="EventTypeAttribute"/>-marked type of <paramref name="assembly"/>.</summary>
    public EventDrivenOptions RegisterTypes(Assembly assembly)
    {
        Registry.RegisterAssembly(assembly);
        return this;
    }

    /// <summary>Hosts <paramref name="aggregate"/> as a sharded persistent actor on this node.</summary>
    public EventDrivenOptions AddAggregate<TState>(Aggregate<TState> aggregate, Action<AggregateOptions>? configure = null)
        where TState : notnull
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        EventSourcing.PersistenceIds.ValidateAggregateName(aggregate.Name);
        if (Aggregates.Any(a => a.Name == aggregate.Name))
            throw new ArgumentException($"Aggregate '{aggregate.Name}' is added twice.", nameof(aggregate));
        var options = new AggregateOptions();
        configure?.Invoke(options);
        Aggregates.Add(new AggregateRegistration(aggregate.Name, options,
            (system, settings) => EventSourcing.Aggregates.Get(system).StartAsync(aggregate, settings, options.Role)));
        return this;
    }

    internal sealed record AggregateRegistration(
        string Name, AggregateOptions Options, Func<Akka.Actor.ActorSystem, EventSourcing.AggregateSettings, Task> Start);
}

/// <summary>Store options (<c>akka.event-driven.persistence</c>); null keeps the configured default.</summary>
public sealed class PersistenceOptions
{
    /// <summary>SQLite (default) or PostgreSQL.</summary>
    public StoreProvider? Provider { get; set; }
    /// <summary>Connection string or postgresql:// URL. Default for SQLite: <c>Data Source=eventdriven.db</c>;
    /// for PostgreSQL: the DATABASE_URL environment variable.</summary>
    public string? ConnectionString { get; set; }
    /// <summary>Most events per journal round trip. Default 2000.</summary>
    public int? BatchSize { get; set; }
    /// <summary>Concurrent journal writers. Default 2 (always 1 on SQLite).</summary>
    public int? Parallelism { get; set; }
    /// <summary>Poll interval of live queries. Default 250 ms.</summary>
    public TimeSpan? QueryRefreshInterval { get; set; }
    /// <summary>akka-persistence-sql journal only: how tag rows are written: "off" (row by row, default), "parameterized"
    /// or "inline" (one statement per batch).</summary>
    public string? TagInsertMode { get; set; }
    /// <summary>Write journal: "batched" (default: group commit, one transaction per batch) or "akka-persistence-sql".</summary>
    public string? Journal { get; set; }

    internal string ToHocon()
    {
        var sb = new StringBuilder("akka.event-driven.persistence {\n");
        if (Provider is { } p) sb.Append($"  provider = {(p == StoreProvider.PostgreSql ? "postgresql" : "sqlite")}\n");
        if (ConnectionString is { } cs) sb.Append($"  connection-string = {HoconText.Quote(cs)}\n");
        if (BatchSize is { } b) sb.Append($"  batch-size = {b}\n");
        if (Parallelism is { } par) sb.Append($"  parallelism = {par}\n");
        if (Journal is { } j) sb.Append($"  journal = {HoconText.Quote(j)}\n");
        if (TagInsertMode is { } t) sb.Append($"  tag-insert-mode = {HoconText.Quote(t)}\n");
        if (QueryRefreshInterval is { } r) sb.Append($"  query-refresh-interval = {(long)r.TotalMilliseconds}ms\n");
        return sb.Append("}\n").ToString();
    }
}

/// <summary>Options of one aggregate type (<c>akka.event-driven.event-sourcing.aggregates.&lt;Name&gt;</c>);
/// null keeps the configured default.</summary>
public sealed class AggregateOptions
{
    /// <summary>Snapshot every N events, 0 = never. Default 100.</summary>
    public int? SnapshotEvery { get; set; }
    /// <summary>Most recent snapshots kept. Default 2.</summary>
    public int? KeepSnapshots { get; set; }
    /// <summary>Delete events covered by the oldest kept snapshot. Default false.</summary>
    public bool? DeleteEventsOnSnapshot { get; set; }
    /// <summary>Stop idle entities after this long; zero = never. Default 120 s.</summary>
    public TimeSpan? PassivateIdleAfter { get; set; }
    /// <summary>Default command timeout. Default 10 s.</summary>
    public TimeSpan? AskTimeout { get; set; }
    /// <summary>Most commands group-committed per write. Default 1000.</summary>
    public int? MaxCommandsPerWrite { get; set; }
    /// <summary>Most commands held while the entity recovers; more fail at once. Default 1000.</summary>
    public int? MaxPendingCommands { get; set; }
    /// <summary>Cluster role whose nodes host the entities. Default: null, every node.</summary>
    public string? Role { get; set; }

    internal string ToHocon(string name)
    {
        var sb = new StringBuilder($"akka.event-driven.event-sourcing.aggregates.{HoconText.Quote(name)} {{\n");
        if (SnapshotEvery is { } s) sb.Append($"  snapshot-every = {s}\n");
        if (KeepSnapshots is { } k) sb.Append($"  keep-snapshots = {k}\n");
        if (DeleteEventsOnSnapshot is { } d) sb.Append($"  delete-events-on-snapshot = {(d ? "on" : "off")}\n");
        if (PassivateIdleAfter is { } p) sb.Append($"  passivate-idle-after = {(long)p.TotalMilliseconds}ms\n");
        if (AskTimeout is { } a) sb.Append($"  ask-timeout = {(long)a.TotalMilliseconds}ms\n");
        if (MaxCommandsPerWrite is { } m) sb.Append($"  max-commands-per-write = {m}\n");
        if (MaxPendingCommands is { } mp) sb.Append($"  max-pending-commands = {mp}\n");
        return sb.Append("}\n").ToString();
    }
}
